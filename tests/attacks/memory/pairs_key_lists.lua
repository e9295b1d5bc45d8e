-- expect: memory
-- call: attack
-- budget: instructions=1000000000 timeout=5
-- why: each pairs holds a list of the table's keys until its walk ends; iterators kept by the thousand hold thousands of lists, which are the script's heap: the memory budget ends it

function attack()
  local t = {}
  for i = 1, 10000 do t["key" .. i] = i end
  local kept = {}
  while true do
    kept[#kept + 1] = pairs(t)
  end
end
