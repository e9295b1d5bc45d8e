-- expect: instructions
-- call: attack
-- why: a frontier (%f) of an 8,000-byte set after a lazy item: the set is scanned at every length the item tries, and the frontier, being zero-width, was left out of the estimate

function attack()
  return (("b"):rep(1000):find(".-%f[" .. ("a"):rep(8000) .. "c]c"))
end
