-- expect: script
-- call: attack
-- why: a table nested 200 deep is over the 32-level limit

function attack()
  local t = {}
  for i = 1, 200 do t = {t} end
  return t
end
