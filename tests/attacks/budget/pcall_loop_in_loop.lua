-- expect: instructions
-- call: attack
-- why: each budget error is caught by pcall and the outer loop starts another spin; the first error must end the call

function attack()
  while true do
    pcall(function() while true do end end)
  end
end
