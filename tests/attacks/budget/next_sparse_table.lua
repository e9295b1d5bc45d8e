-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.3 memory=64
-- why: next() from the first key of a table whose two million other array slots were emptied scans them all in one C call, allocating nothing; the hook checks the clock more often while the heap is big

function attack()
  local t = {}
  for i = 1, 2 ^ 21 do t[i] = true end
  for i = 2, 2 ^ 21 do t[i] = nil end
  local n = next
  while true do n(t, 1); n(t, 1); n(t, 1); n(t, 1); n(t, 1); n(t, 1); n(t, 1); n(t, 1) end
end
