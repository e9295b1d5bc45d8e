-- expect: forbidden
-- call: attack
-- why: the __gc refusal under pcall, then a normal return: the refusal is not catchable

function attack()
  pcall(setmetatable, {}, {__gc = function() while true do end end})
  return "swallowed"
end
