-- expect: memory
-- call: attack
-- host: echo
-- budget: memory=3 instructions=100000000
-- why: the heap runs out while trusted code flattens a host call's arguments; that is the memory budget, not the host function's catchable "argument" error, so pcall cannot swallow it

function attack()
  local hold = {}
  for i = 1, 40000 do hold[i] = "v" .. i end
  local ok, e = pcall(echo, hold)
  return "swallowed: " .. tostring(e)
end
