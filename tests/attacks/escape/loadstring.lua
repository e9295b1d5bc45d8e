-- expect: forbidden
-- call: attack
-- why: loadstring (Lua 5.1 name) is on the deny-list, so it is forbidden rather than nil

function attack()
  return loadstring("return 1")
end
