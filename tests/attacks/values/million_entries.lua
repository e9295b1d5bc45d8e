-- expect: script
-- call: attack
-- budget: instructions=100000000 memory=64
-- why: a table with 1,000,000 entries is over the 100,000-value limit

function attack()
  local t = {}
  for i = 1, 1000000 do t[i] = i end
  return t
end
