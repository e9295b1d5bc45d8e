-- expect: forbidden
-- call: attack
-- why: collectgarbage('stop') would disable the collector shared with the host; the global is denied

function attack()
  collectgarbage("stop")
  return collectgarbage("count")
end
