-- expect: instructions
-- call: attack
-- why: a handler that returns normally after the budget error, in a loop: xpcall cannot swallow it

function attack()
  while true do
    xpcall(function() while true do end end, function(e) return "handled" end)
  end
end
