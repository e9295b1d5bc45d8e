-- expect: forbidden
-- call: attack
-- why: rawset on the state pairs(string) returns: it is the sealed view, so rawset is refused as on the library itself

function attack()
  local _, state = pairs(string)
  rawset(state, "rep", function() return "tampered" end)
  return string.rep("a", 3)
end
