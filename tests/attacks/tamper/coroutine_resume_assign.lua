-- expect: forbidden
-- call: attack
-- why: replacing coroutine.resume (the wrapper that carries the budget hook) is refused

function attack()
  local raw = coroutine.resume
  coroutine.resume = function(co, ...) return raw(co, ...) end
  return coroutine.resume(coroutine.create(function() while true do end end))
end
