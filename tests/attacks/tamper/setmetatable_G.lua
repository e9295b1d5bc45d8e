-- expect: forbidden
-- call: attack
-- why: setmetatable on _G is refused

function attack()
  setmetatable(_G, {__newindex = function() end})
end
