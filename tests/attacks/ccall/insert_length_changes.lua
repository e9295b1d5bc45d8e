-- expect: ok
-- call: attack
-- why: a __len that answers 0 to the guard and 2^62 to C (table.insert then shifted 2^62 slots in C); the length is asked once and C sees that same answer
-- result: [1, "x"]

function attack()
  local calls = 0
  local t = setmetatable({}, {__len = function()
    calls = calls + 1
    if calls == 1 then return 0 end
    return 1 << 62
  end})
  table.insert(t, 1, "x")
  return {calls, rawget(t, 1)}
end
