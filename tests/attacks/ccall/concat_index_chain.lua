-- expect: instructions
-- call: attack
-- why: table.concat over 200k elements reached through an __index chain 1,990 tables deep: each element is 1,990 lookups in C, so the guard charges the chain's depth too

function attack()
  local last = {}
  for i = 1, 200000 do last[i] = "x" end
  local t = last
  for _ = 1, 1990 do t = setmetatable({}, {__index = t}) end
  return #table.concat(t, "", 1, 200000)
end
