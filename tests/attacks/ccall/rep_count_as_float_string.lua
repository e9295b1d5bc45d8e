-- expect: instructions
-- call: attack
-- why: string.rep("", "1e15"): a float written as a string, with an integer value; Lua's C code converts it, so the guard checks it after the same conversion

function attack()
  return #string.rep("", "1e15")
end
