-- expect: script
-- call: attack
-- why: the call itself yields (hoping to leave the driver suspended and the budget paused); it fails as a script error

function attack()
  pcall(coroutine.yield, "paused")
  while true do end
end
