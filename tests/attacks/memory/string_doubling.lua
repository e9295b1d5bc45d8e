-- expect: memory
-- call: attack
-- budget: instructions=100000000
-- why: a string doubled by concatenation until the cap

function attack()
  local s = "x"
  while true do s = s .. s end
end
