-- expect: forbidden
-- call: attack
-- why: clearing every field of string in a loop: the first assignment is refused

function attack()
  for k in pairs(string) do string[k] = nil end
end
