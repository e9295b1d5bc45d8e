-- expect: ok
-- call: attack
-- why: an empty table with a __metatable lock and a spinning __pairs comes back as {}
-- result: {}

function attack()
  return setmetatable({}, {__metatable = "locked", __pairs = function() while true do end end})
end
