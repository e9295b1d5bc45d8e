-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: the catastrophic gsub through method syntax

function attack()
  local s = ("a"):rep(400)
  return (s:gsub("a-a-a-b", ""))
end
