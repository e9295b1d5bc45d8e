-- expect: ok
-- call: attack
-- why: a table of 2^19 emptied array slots returned 30,000 times: its slots are scanned once per flatten, not once per reference (was tens of seconds, unhooked)
-- budget: instructions=50000000 timeout=1 memory=32
function attack()
  local t = {x = 1}
  for i = 1, 2 ^ 19 do t[i] = true end
  for i = 1, 2 ^ 19 do t[i] = nil end
  local root = {}
  for i = 1, 30000 do root[i] = t end
  return root
end
