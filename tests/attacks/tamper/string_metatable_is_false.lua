-- expect: ok
-- call: attack
-- why: control: the string metatable is locked and getmetatable('') answers false
-- result: false

function attack()
  return getmetatable("")
end
