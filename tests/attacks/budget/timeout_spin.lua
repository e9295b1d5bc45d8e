-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.3
-- why: a spin with an unreachable instruction budget: the CPU-time budget ends it

function attack()
  while true do end
end
