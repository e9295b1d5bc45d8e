-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: table.move of 10^12 nils into a fresh table: no memory grows (nils are not stored), only time

function attack()
  return table.move({}, 1, 1e12, 1, {})
end
