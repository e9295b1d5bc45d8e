-- expect: script
-- call: attack
-- why: fetching the raw string.rep through getmetatable('').__index: indexing false is a script error

function attack()
  local rep = getmetatable("").__index.rep
  return rep("", math.maxinteger)
end
