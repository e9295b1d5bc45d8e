-- expect: memory
-- call: attack
-- budget: instructions=100000000000 timeout=0.5
-- why: 100 references to one 1 MB string concatenated: a 100 MB result from 1 MB of live data

function attack()
  local s = ("x"):rep(1 << 20)
  local t = {}
  for i = 1, 100 do t[i] = s end  -- the same string, 100 times
  return table.concat(t)
end
