-- expect: ok
-- call: attack
-- why: control: an embedded NUL is valid UTF-8 and crosses intact
-- result: "a\u0000b"

function attack()
  return "a\0b"
end
