-- expect: script
-- call: attack
-- why: __index that indexes its own table: each level is a C call, Lua stops it with 'C stack overflow'

function attack()
  local t
  t = setmetatable({}, {__index = function(self, k) return self[k] end})
  return t.x
end
