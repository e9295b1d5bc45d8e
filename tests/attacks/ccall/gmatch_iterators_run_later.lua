-- expect: timeout
-- call: attack
-- budget: instructions=50000000 timeout=1
-- why: gmatch was charged when made, its search runs when called: 100 made at once, then run back to back

function attack()
  local s = ("a"):rep(4500)
  local its = {}
  for i = 1, 100 do its[i] = s:gmatch("a*b") end  -- each about 50 ms of backtracking
  for i = 1, #its do its[i]() end
  return "ran"
end
