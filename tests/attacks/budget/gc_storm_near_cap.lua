-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.3 memory=16
-- why: 8 MB of small tables kept alive, then copies that cross the memory cap: every allocation is a full emergency collection (no finalizer runs), so near the cap the hook checks the clock every few instructions

keep = {}
for i = 1, 120000 do keep[i] = {} end
local s = ("x"):rep(1500000)

function attack()
  while true do local a = s .. s; a = s .. s end
end
