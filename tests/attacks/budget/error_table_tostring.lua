-- expect: script
-- call: attack
-- why: error() with a table whose __tostring spins: the host reports the error object raw and never runs it

function attack()
  error(setmetatable({}, {__tostring = function() while true do end end}))
end
