-- expect: memory
-- call: attack
-- budget: instructions=100000000
-- why: a hash part grown with fresh string keys (strings plus nodes)

function attack()
  local t, i = {}, 0
  while true do
    i = i + 1
    t["key" .. i] = true
  end
end
