-- expect: instructions
-- call: attack
-- why: the spin runs in a coroutine.wrap function; the hook must follow it

function attack()
  local f = coroutine.wrap(function() while true do end end)
  return f()
end
