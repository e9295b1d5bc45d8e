-- expect: ok
-- call: attack
-- why: a __len that answers 3 to the guard and 2^30 to C: table.sort sorts the 3 elements the guard paid for
-- result: [1, 1, 2, 3]

function attack()
  local calls = 0
  local t = setmetatable({3, 1, 2}, {__len = function()
    calls = calls + 1
    if calls == 1 then return 3 end
    return 1 << 30
  end})
  table.sort(t)
  return {calls, rawget(t, 1), rawget(t, 2), rawget(t, 3)}
end
