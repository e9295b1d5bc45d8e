-- expect: forbidden
-- call: attack
-- why: string.dump reached through the string metatable (`(''):dump`) instead of the library table

function attack()
  local dump = ("").dump  -- method lookup goes through getmetatable("").__index
  return dump(attack)
end
