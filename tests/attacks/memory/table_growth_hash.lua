-- expect: memory
-- call: attack
-- budget: instructions=100000000 timeout=5
-- why: a hash part grown with fresh string keys (strings plus nodes); about 0.9 s of CPU to reach
-- the cap here, so its time budget is roomy: what is tested is that memory ends it

function attack()
  local t, i = {}, 0
  while true do
    i = i + 1
    t["key" .. i] = true
  end
end
