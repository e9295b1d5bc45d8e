-- expect: forbidden
-- call: attack
-- why: io gives files; reading `io` is forbidden

function attack()
  local f = io.open("/etc/passwd", "r")
  return f:read("a")
end
