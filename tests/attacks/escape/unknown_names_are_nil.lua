-- expect: ok
-- call: attack
-- why: control: a name on neither list is plain nil, as in ordinary Lua
-- result: "nil/nil"

function attack()
  return type(no_such_global_xyz) .. "/" .. type(string.no_such_field)
end
