-- expect: instructions
-- call: attack
-- budget: instructions=6000000 memory=64 timeout=1
-- why: table.sort of 1.5M integers with the default comparator: ~3e7 compares in C, charged before it runs

function attack()
  local t = {}
  for i = 1, 1500000 do t[i] = -i end
  table.sort(t)
  return t[1]
end
