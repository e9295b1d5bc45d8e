-- expect: memory
-- call: attack
-- budget: instructions=100000000000
-- why: string.format('%s%s%s%s') of a 5 MB string: a 20 MB result

function attack()
  local s = ("x"):rep(5 * 1024 * 1024)
  return string.format("%s%s%s%s", s, s, s, s)
end
