-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.3 memory=64
-- why: comparing two 12 MB strings that differ in the last byte is one instruction and a 12 MB scan, with nothing allocated: the hook checks the clock more often while the heap is big

function attack()
  local a = ("x"):rep(12000000) .. "y"
  local b = ("x"):rep(12000000) .. "z"
  local r
  while true do r = a == b; r = a < b; r = a == b; r = a < b end
end
