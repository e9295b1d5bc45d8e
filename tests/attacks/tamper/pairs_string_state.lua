-- expect: forbidden
-- call: attack
-- why: pairs(string) returned the library's writable backing table as its state; it now returns the read-only view, so writing to it is refused

function attack()
  local _, state = pairs(string)
  state.upper = function() return "tampered" end
  return ("a"):upper()
end
