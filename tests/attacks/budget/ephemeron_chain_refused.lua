-- expect: forbidden
-- call: attack
-- why: a chain of weak-keyed (ephemeron) entries makes one collection O(N^2) in C, past every hook; weak keys are refused
function attack()
  local N = 40000
  local E = setmetatable({}, {__mode = "k"})
  local keys = {}
  for i = 1, N do keys[i] = {} end
  for i = N, 2, -1 do local j = math.random(i); keys[i], keys[j] = keys[j], keys[i] end
  for i = 1, N - 1 do E[keys[i]] = keys[i + 1] end
  local root = keys[1]
  keys = nil
  local junk
  for i = 1, 1e7 do junk = {i} end
  return root ~= nil and E ~= nil
end
