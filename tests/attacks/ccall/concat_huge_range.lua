-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: table.concat over 1..maxinteger where __index supplies '' for every index: no memory, unbounded work

function attack()
  local t = setmetatable({}, {__index = function() return "" end})
  return table.concat(t, "", 1, math.maxinteger)
end
