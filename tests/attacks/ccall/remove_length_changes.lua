-- expect: ok
-- call: attack
-- why: a __len that answers 1 to the guard and 2^62 to C (table.remove then shifted 2^62 slots in C); the length is asked once
-- result: [1, "x"]

function attack()
  local calls = 0
  local t = setmetatable({"x"}, {__len = function()
    calls = calls + 1
    if calls == 1 then return 1 end
    return 1 << 62
  end})
  local v = table.remove(t, 1)
  return {calls, v}
end
