-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: table.insert at position 1 in a loop: each call shifts the whole array, quadratic work in C

function attack()
  local t = {}
  for i = 1, 1e6 do table.insert(t, 1, i) end
  return #t
end
