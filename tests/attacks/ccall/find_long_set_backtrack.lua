-- expect: instructions
-- call: attack
-- why: a quantified [set] of 8,000 bytes over 1,000 bytes: each of the matcher's half a million tries scans the set, seconds in one C call; the estimate counts a try as the set's scan, not one step

function attack()
  return (("b"):rep(1000):find("[" .. ("a"):rep(8000) .. "b]*c"))
end
