-- expect: forbidden
-- call: attack
-- why: replacing table.concat is refused

function attack()
  table.concat = function() return "" end
  return table.concat({}, "", 1, math.maxinteger)
end
