-- expect: instructions
-- call: attack
-- why: table.move of 200k elements out of a table behind a 1,990-deep __index chain: charged per lookup, not per element

function attack()
  local last = {}
  for i = 1, 200000 do last[i] = i end
  local t = last
  for _ = 1, 1990 do t = setmetatable({}, {__index = t}) end
  return #table.move(t, 1, 200000, 1, {})
end
