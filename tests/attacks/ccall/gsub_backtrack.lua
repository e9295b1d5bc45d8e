-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: string.gsub with the same catastrophic pattern

function attack()
  return (string.gsub(("a"):rep(400), "a-a-a-b", ""))
end
