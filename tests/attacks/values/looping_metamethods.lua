-- expect: ok
-- call: attack
-- why: a table whose __index, __pairs, __len, __tostring and __newindex all spin: the host reads it raw and never runs them
-- result: {"a": 1}

function attack()
  local spin = function() while true do end end
  return setmetatable({a = 1}, {__index = spin, __newindex = spin, __pairs = spin,
                                __len = spin, __tostring = spin, __eq = spin})
end
