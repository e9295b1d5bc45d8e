-- expect: ok
-- call: attack
-- why: an array whose __len and __index spin (and __len lies): the host uses the raw length and raw reads
-- result: [10, 20, 30]

function attack()
  local spin = function() while true do end end
  return setmetatable({10, 20, 30}, {__len = spin, __index = spin, __ipairs = spin})
end
