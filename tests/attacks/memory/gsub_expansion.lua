-- expect: memory
-- call: attack
-- budget: instructions=100000000000
-- why: gsub replacing each of 100k characters with 1 KB: a 100 MB result from small inputs

function attack()
  local s = ("x"):rep(100000)
  return (s:gsub("x", ("y"):rep(1000)))
end
