-- expect: memory
-- call: attack
-- budget: instructions=100000000000
-- why: string.rep with a short count but a 1 KB separator: the result size is count * (len + sep)

function attack()
  local sep = ("y"):rep(1024)
  return string.rep("x", 1 << 20, sep)  -- ~1 GB
end
