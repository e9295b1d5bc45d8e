-- expect: script
-- call: attack
-- message: C stack overflow
-- why: __tostring recursing through string.format overflows the C stack with no line of the script among the innermost 200 frames; the driver's answer still holds its place (nil) and Lua's message, not a broken reply the worker could only call "sandbox worker error"

function attack()
  local t
  t = setmetatable({}, {__tostring = function() return string.format("%s", t) end})
  return tostring(t)
end
