-- expect: instructions
-- call: attack
-- budget: instructions=50000000 timeout=5 memory=16
-- why: 12 MB pinned under a 16 MB cap, then a spin that allocates nothing: only the instruction budget can end it

function attack()
  local pinned = {}
  for i = 1, 12 do
    -- 1 MB each (built one at a time so no single call needs twice its size)
    pinned[i] = string.char(64 + i):rep(1024 * 1024)
  end
  local n = 0
  while true do n = n + #pinned end  -- no allocation from here on
end
