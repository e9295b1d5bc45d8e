-- expect: memory
-- call: attack
-- budget: instructions=100000000000 timeout=0.5
-- why: string.rep('x', 1e9): a 1 GB result refused before allocating

function attack()
  return string.rep("x", 1e9)
end
