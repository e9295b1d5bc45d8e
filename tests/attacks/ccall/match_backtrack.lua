-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: string.match with the same catastrophic pattern

function attack()
  return string.match(("a"):rep(400), "a-a-a-b")
end
