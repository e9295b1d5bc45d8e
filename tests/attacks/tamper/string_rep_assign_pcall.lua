-- expect: forbidden
-- call: attack
-- why: the refused string.rep assignment under pcall, then a huge rep through method syntax

function attack()
  pcall(function() string.rep = function(s) return s end end)
  return ("x"):rep(1e9)
end
