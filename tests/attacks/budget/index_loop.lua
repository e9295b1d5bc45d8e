-- expect: instructions
-- call: attack
-- why: an __index function that spins, reached by a plain field read

function attack()
  local t = setmetatable({}, {__index = function() while true do end end})
  return t.anything
end
