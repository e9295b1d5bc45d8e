-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.5
-- why: utf8.len decodes a whole string in C, allocating nothing: charged by its bytes, it ends on the time budget, not the hard deadline
function attack()
  local s = ("\u{7FF}"):rep(3000000)
  local len = utf8.len
  while true do len(s); len(s); len(s); len(s); len(s); len(s); len(s); len(s) end
end
