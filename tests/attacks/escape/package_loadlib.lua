-- expect: forbidden
-- call: attack
-- why: package.loadlib loads native code; reading `package` is forbidden

function attack()
  local system = package.loadlib("/lib/x86_64-linux-gnu/libc.so.6", "system")
  return system("id")
end
