-- expect: forbidden
-- call: attack
-- why: setmetatable on the string library table is refused

function attack()
  setmetatable(string, {__index = function() return function() return "" end end})
end
