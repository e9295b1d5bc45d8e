-- expect: instructions
-- call: attack
-- why: the budget error unwinds through a <close> handler that tries to spin and to catch it

function attack()
  local x <close> = setmetatable({}, {__close = function(_, err)
    pcall(function() while true do end end)  -- try to catch the budget error here
    while true do end
  end})
  while true do end
end
