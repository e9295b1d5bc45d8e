-- expect: instructions
-- call: attack
-- why: a __concat metamethod that spins, reached by the `..` operator

function attack()
  local t = setmetatable({}, {__concat = function() while true do end end})
  return t .. "x"
end
