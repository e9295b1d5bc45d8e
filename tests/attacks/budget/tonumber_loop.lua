-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.5
-- why: tonumber skips and reads a whole string in C: charged by its bytes, it ends on the time budget, not the hard deadline
function attack()
  local s = (" "):rep(4000000) .. "1"
  while true do tonumber(s); tonumber(s); tonumber(s); tonumber(s); utf8.offset(s, -1) end
end
