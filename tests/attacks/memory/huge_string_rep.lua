-- expect: memory
-- call: attack
-- budget: instructions=100000000000
-- why: string.rep of 1 TB: refused before allocating because the result exceeds the cap

function attack()
  return string.rep("x", 1 << 40)
end
