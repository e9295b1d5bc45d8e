-- expect: script
-- call: attack
-- why: __add that adds to itself: C-level recursion through the arithmetic metamethod

function attack()
  local mt = {}
  mt.__add = function(a, b) return a + b end
  return setmetatable({}, mt) + 1
end
