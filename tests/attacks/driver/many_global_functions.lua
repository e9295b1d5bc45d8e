-- expect: script
-- budget: instructions=50000000 timeout=5 memory=64
-- why: 300,000 global functions: listing them for the host (names sorted and joined) ran on the unhooked main thread; it is now done under the budget and capped at 1,000 names

local f = function() end
for i = 1, 300000 do _G["f" .. i] = f end
