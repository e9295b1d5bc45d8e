-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.3
-- why: each `s .. s` of a 3 MB string is one instruction and a 6 MB copy: 1,000 instructions took a second, so the time budget is also checked when a GC cycle ends and more often while the heap is big

function attack()
  local s = ("x"):rep(3000000)
  while true do local a = s .. s; a = s .. s; a = s .. s; a = s .. s end
end
