-- expect: script
-- call: attack
-- why: 100,001 values: one over the limit

function attack()
  local t = {}
  for i = 1, 100001 do t[i] = true end
  return t
end
