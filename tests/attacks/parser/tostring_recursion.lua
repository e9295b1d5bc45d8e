-- expect: script
-- call: attack
-- why: __tostring that calls tostring on itself: C-level recursion ends in 'C stack overflow'

function attack()
  local t = setmetatable({}, {__tostring = function(self) return tostring(self) end})
  return tostring(t)
end
