-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: table.unpack over 1..maxinteger: charged by count before it runs

function attack()
  return select("#", table.unpack({}, 1, math.maxinteger))
end
