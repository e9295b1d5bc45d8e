-- expect: forbidden
-- call: attack
-- why: rawget skips __index on the environment; a denied name read raw is still forbidden

function attack()
  return rawget(_G, "io")
end
