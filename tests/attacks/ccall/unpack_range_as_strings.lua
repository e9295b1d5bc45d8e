-- expect: instructions
-- call: attack
-- budget: instructions=100000 timeout=0.5
-- why: table.unpack({}, "1", "999999"): the range as strings is charged like integers (900k values under a 100k instruction budget)

function attack()
  return select("#", table.unpack({}, "1", "999999"))
end
