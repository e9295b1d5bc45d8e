-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.3
-- why: the time budget error caught by pcall in a loop: it cannot be swallowed

function attack()
  while true do
    pcall(function() while true do end end)
  end
end
