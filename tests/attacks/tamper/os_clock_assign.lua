-- expect: forbidden
-- call: attack
-- why: freezing os.clock to fool time measurement is refused (and the budget keeps its own clock)

function attack()
  os.clock = function() return 0 end
  while true do end
end
