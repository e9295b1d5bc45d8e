-- expect: instructions
-- call: attack
-- why: print calls tostring on its arguments; the spin in __tostring is still budgeted

function attack()
  print(setmetatable({}, {__tostring = function() while true do end end}))
end
