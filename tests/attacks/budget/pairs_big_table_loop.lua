-- expect: instructions
-- call: attack
-- why: pairs lists and sorts a table's keys before its first step: over 50,000 string keys, again and again, each pairs left at once; the listing runs under the hook and the sort is the guarded table.sort, so the instruction budget ends it

function attack()
  local t = {}
  for i = 1, 50000 do t["key" .. i] = i end
  while true do
    for _ in pairs(t) do break end
  end
end
