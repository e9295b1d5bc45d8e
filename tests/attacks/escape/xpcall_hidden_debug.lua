-- expect: forbidden
-- call: attack
-- why: a forbidden read under xpcall whose handler returns normally: the handler cannot swallow it

function attack()
  xpcall(function() return debug.getinfo end, function(e) return "handled" end)
  return "survived"
end
