-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: table.move over 1..maxinteger inside one table: passes Lua's own range checks, then loops 2^63 times in C

function attack()
  return table.move({}, 1, math.maxinteger, 2)
end
