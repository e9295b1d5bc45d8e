-- expect: forbidden
-- call: attack
-- why: probing for `python` under pcall and carrying on if it failed: the probe itself ends the call

function attack()
  local ok, py = pcall(function() return python end)
  if not ok then return "probe failed quietly" end
  return py
end
