-- expect: ok
-- call: attack
-- why: control: weak values ("v") are no ephemerons and stay allowed, as does a non-string __mode
-- result: [true, true]
function attack()
  local cache = setmetatable({}, {__mode = "v"})
  cache[1] = {}
  local odd = setmetatable({}, {__mode = 1})
  return {getmetatable(cache).__mode == "v", getmetatable(odd) ~= nil}
end
