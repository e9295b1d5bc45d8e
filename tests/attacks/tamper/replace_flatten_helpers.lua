-- expect: ok
-- call: attack
-- why: type, next, pairs, ipairs, rawget and rawlen replaced by spinners: the host flattens the result with its own copies
-- result: [1, 2, {"x": "y"}]

function attack()
  local spin = function() while true do end end
  type, next, pairs, ipairs, rawget, rawlen, select = spin, spin, spin, spin, spin, spin, spin
  return {1, 2, {x = "y"}}
end
