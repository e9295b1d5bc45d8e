-- expect: instructions
-- call: attack
-- why: __tostring spins, triggered by tostring() in the script

function attack()
  local x = setmetatable({}, {__tostring = function() while true do end end})
  return tostring(x)
end
