-- expect: instructions
-- call: attack
-- why: the message handler spins; handlers run under the same budget

function attack()
  return xpcall(function() error("x") end, function() while true do end end)
end
