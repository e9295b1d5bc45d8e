-- expect: forbidden
-- call: attack
-- why: a forbidden read inside pcall followed by a normal return: the error cannot be caught

function attack()
  local ok = pcall(function() return io.open end)
  return "survived"  -- must never be reached
end
