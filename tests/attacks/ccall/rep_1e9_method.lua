-- expect: memory
-- call: attack
-- budget: instructions=100000000000 timeout=0.5
-- why: the same 1 GB rep through method syntax

function attack()
  return ("x"):rep(1e9)
end
