-- expect: forbidden
-- call: attack
-- why: the registry holds the host's objects and the sandbox's state; `debug` is forbidden

function attack()
  local reg = debug.getregistry()
  return reg[1]
end
