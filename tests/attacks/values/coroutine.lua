-- expect: script
-- call: attack
-- why: a coroutine cannot cross

function attack()
  return coroutine.create(function() end)
end
