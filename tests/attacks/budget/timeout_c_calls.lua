-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.3
-- why: time spent inside many modest C calls counts toward the time budget, not only Lua instructions

function attack()
  local n = 0
  while true do
    n = n + #string.rep("x", 100000)  -- each call is small, the loop is not
  end
end
