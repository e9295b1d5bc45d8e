-- expect: instructions
-- call: attack
-- why: string.rep("", "9223372036854775807"): a count given as a string, which Lua's C code converts; the guard converts it the same way before it estimates

function attack()
  return #string.rep("", "9223372036854775807")
end
