-- expect: ok
-- call: attack
-- why: __gc added to the metatable after setmetatable: Lua never marks the object, so no finalizer runs
-- result: "no finalizer"

function attack()
  local mt = {}
  local t = setmetatable({}, mt)
  mt.__gc = function() while true do end end  -- too late: Lua checks __gc only in setmetatable
  t = nil
  return "no finalizer"
end
