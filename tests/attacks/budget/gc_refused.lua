-- expect: forbidden
-- call: attack
-- why: a __gc finalizer would run outside any call's budget; setmetatable with __gc is refused

function attack()
  setmetatable({}, {__gc = function() while true do end end})
end
