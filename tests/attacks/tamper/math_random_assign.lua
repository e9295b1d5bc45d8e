-- expect: forbidden
-- call: attack
-- why: replacing math.random (a rigged generator for other code in the plugin) is refused

function attack()
  math.random = function() return 4 end  -- chosen by fair dice roll
  return math.random(6)
end
