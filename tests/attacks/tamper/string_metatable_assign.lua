-- expect: script
-- call: attack
-- why: getmetatable('') is false, so replacing its __index is an ordinary indexing error

function attack()
  getmetatable("").__index = {rep = function(s) return s end}
  return ("x"):rep(1e9)
end
