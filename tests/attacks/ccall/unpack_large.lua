-- expect: instructions
-- call: attack
-- budget: instructions=100000 timeout=0.5
-- why: table.unpack of 900k values under a 100k instruction budget: the guard charges the count

function attack()
  return select("#", table.unpack({}, 1, 900000))
end
