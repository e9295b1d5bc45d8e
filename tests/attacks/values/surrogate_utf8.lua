-- expect: script
-- call: attack
-- why: an encoded UTF-16 surrogate (ED A0 80) is not valid UTF-8, even though it looks like a 3-byte sequence

function attack()
  return "ok\xed\xa0\x80"
end
