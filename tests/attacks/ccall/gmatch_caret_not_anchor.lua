-- expect: instructions
-- call: attack
-- why: in gmatch a leading '^' is a plain character, not an anchor; the guard took it for an anchor and estimated one start instead of one per position
-- budget: timeout=0.5

function attack()
  local s = ("^" .. ("a"):rep(30)):rep(300)
  local n = 0
  for _ in string.gmatch(s, "^" .. ("a-"):rep(6) .. "b") do n = n + 1 end
  return n
end
