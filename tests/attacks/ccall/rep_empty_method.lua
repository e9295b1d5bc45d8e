-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: the same 2^63-iteration rep through method syntax on a string value

function attack()
  return (""):rep(math.maxinteger)
end
