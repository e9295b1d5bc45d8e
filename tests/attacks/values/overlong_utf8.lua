-- expect: script
-- call: attack
-- why: an overlong encoding of NUL (C0 80) is not valid UTF-8

function attack()
  return "a\xc0\x80b"
end
