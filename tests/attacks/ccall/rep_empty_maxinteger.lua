-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: string.rep('', maxinteger) allocates nothing but loops 2^63 times inside C; charged by count before it runs

function attack()
  return string.rep("", math.maxinteger)
end
