-- expect: script
-- call: attack
-- why: getmetatable(_ENV) answers false or nil, so editing its fields is an ordinary indexing error

function attack()
  getmetatable(_ENV).__index = function() return nil end
end
