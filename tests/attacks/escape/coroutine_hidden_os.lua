-- expect: forbidden
-- call: attack
-- why: a forbidden read inside a coroutine, resumed under pcall: neither layer may catch it

function attack()
  local co = coroutine.create(function() return os.execute end)
  pcall(coroutine.resume, co)
  return coroutine.status(co)
end
