-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: string.gmatch with the same catastrophic pattern (the work happens in the iterator)

function attack()
  local n = 0
  for _ in string.gmatch(("a"):rep(400), "a-a-a-b") do n = n + 1 end
  return n
end
