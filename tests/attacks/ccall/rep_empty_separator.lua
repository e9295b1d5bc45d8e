-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: rep of an empty string with an empty separator: 2^40 iterations, zero bytes

function attack()
  return string.rep("", 1 << 40, "")
end
