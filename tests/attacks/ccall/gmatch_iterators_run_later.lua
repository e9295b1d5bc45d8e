-- expect: timeout
-- call: attack
-- budget: instructions=50000000 timeout=0.3
-- why: gmatch was charged when made, its search runs when called: 100 made at once, then run back to back

-- Each search is estimated at 5,067,000 instructions (0.25 s), charged as it runs, refused when it would not fit the
-- time left. At timeout=1 the 50,000,000 ran out at the tenth search, before the time, wherever searches took under
-- 0.075 s each (0.14 CPU s here under load): a fast machine ended it on instructions. At 0.3 s the second is refused
-- unless the first took under 0.05 s; the tenth needs each under 0.006 s. The 50,000,000 stays under 100 estimates:
-- a gmatch charged when made (the defect) ends on instructions at the tenth made.
function attack()
  local s = ("a"):rep(4500)
  local its = {}
  for i = 1, 100 do its[i] = s:gmatch("a*b") end  -- each about 50 ms of backtracking
  for i = 1, #its do its[i]() end
  return "ran"
end
