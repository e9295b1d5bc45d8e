-- expect: forbidden
-- call: attack
-- why: warn writes to the host's stderr; the global is denied

function attack()
  warn("@on")
  warn("moonhook: injected warning")
end
