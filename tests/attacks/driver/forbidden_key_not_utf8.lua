-- expect: forbidden
-- call: attack
-- why: writing a library field named with bytes that are not UTF-8: the refusal's message is made safe to cross, so it stays `forbidden`

function attack()
  string["\xff\xfe"] = 1
end
