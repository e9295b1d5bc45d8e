-- expect: memory
-- call: attack
-- budget: instructions=100000000
-- why: an array grown without end; the allocation past the cap fails

function attack()
  local t, i = {}, 0
  while true do
    i = i + 1
    t[i] = i
  end
end
