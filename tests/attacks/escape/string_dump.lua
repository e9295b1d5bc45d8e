-- expect: forbidden
-- call: attack
-- why: string.dump produces bytecode (the first step of a bytecode exploit); the field is denied

function attack()
  return string.dump(attack)
end
