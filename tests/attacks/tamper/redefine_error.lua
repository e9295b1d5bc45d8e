-- expect: instructions
-- call: attack
-- why: the script's global error replaced by a no-op before a spin: budget errors are raised by the sandbox's own error

function attack()
  error = function() end
  assert = function(v) return v end
  while true do end
end
