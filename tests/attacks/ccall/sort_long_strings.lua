-- expect: instructions
-- call: attack
-- why: table.sort of 20,000 references to one 1 MB string: each comparison reads the whole string in C, so the guard charges the longest string's length per comparison

function attack()
  local s = ("x"):rep(1000000)
  local t = {}
  for i = 1, 20000 do t[i] = s end
  table.sort(t)
end
