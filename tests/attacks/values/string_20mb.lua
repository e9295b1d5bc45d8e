-- expect: script
-- call: attack
-- budget: instructions=100000000000 memory=64
-- why: a 20 MB string is over the 1 MB limit for strings in one result

function attack()
  return ("x"):rep(20 * 1024 * 1024)
end
