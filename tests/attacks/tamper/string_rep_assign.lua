-- expect: forbidden
-- call: attack
-- why: replacing string.rep (the guarded helper) with the script's own function is refused

function attack()
  string.rep = function(s, n) return s end
  return ("x"):rep(1e9)
end
