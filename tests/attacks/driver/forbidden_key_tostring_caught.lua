-- expect: forbidden
-- call: attack
-- why: writing a library field under a table key whose __tostring raises: the refusal never runs the key's metamethods, so pcall cannot turn it into an ordinary error

function attack()
  local key = setmetatable({}, {__tostring = function() error("caught instead") end})
  pcall(function() string[key] = 1 end)
  return "swallowed"
end
