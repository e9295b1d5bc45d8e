-- expect: forbidden
-- call: attack
-- why: replacing coroutine.create is refused

function attack()
  coroutine.create = function(f) return f end
end
