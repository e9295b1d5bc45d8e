-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: table.remove at position 1 in a loop over 200k items: quadratic shifting in C

function attack()
  local t = {}
  for i = 1, 200000 do t[i] = i end
  while #t > 0 do table.remove(t, 1) end
end
