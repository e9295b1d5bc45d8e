-- expect: instructions
-- call: attack
-- why: (""):rep(" 0x7fffffffffffffff "): hexadecimal with spaces, through method syntax; converted as Lua converts it, then charged

function attack()
  return #(""):rep(" 0x7fffffffffffffff ")
end
