-- expect: forbidden
-- call: attack
-- why: writing a library field under a table key whose __tostring spins: the refusal names the key by its type and never calls it

function attack()
  string[setmetatable({}, {__tostring = function() while true do end end})] = 1
end
