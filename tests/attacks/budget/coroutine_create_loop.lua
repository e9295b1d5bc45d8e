-- expect: instructions
-- call: attack
-- why: the spin runs in a coroutine the script created; the hook must follow it

function attack()
  local co = coroutine.create(function() while true do end end)
  return coroutine.resume(co)  -- resume returns false on error: must not be how it ends
end
