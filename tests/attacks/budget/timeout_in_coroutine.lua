-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.3
-- why: the time budget follows a coroutine the script created

function attack()
  return coroutine.wrap(function() while true do end end)()
end
