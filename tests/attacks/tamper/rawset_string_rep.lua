-- expect: forbidden
-- call: attack
-- why: rawset skips __newindex; rawset on a library table is refused

function attack()
  rawset(string, "rep", function(s) return s end)
  return ("x"):rep(1e9)
end
