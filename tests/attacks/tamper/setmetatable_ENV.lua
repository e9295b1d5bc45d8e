-- expect: forbidden
-- call: attack
-- why: a metatable on _ENV could intercept every global read; setmetatable on _ENV is refused

function attack()
  setmetatable(_ENV, {__index = function(_, k) return k end})
end
