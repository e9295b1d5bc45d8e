-- expect: instructions
-- call: attack
-- why: coroutine.close runs a pending __close that spins, on the coroutine's own thread

function attack()
  local co = coroutine.create(function()
    local x <close> = setmetatable({}, {__close = function() while true do end end})
    coroutine.yield()
  end)
  coroutine.resume(co)   -- now suspended with a to-be-closed variable pending
  return coroutine.close(co)
end
