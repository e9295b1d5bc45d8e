-- expect: instructions
-- call: attack
-- why: table.move({}, "1", "4611686018427387904", 2): the range as strings used to skip the guard and loop 2^62 times in C

function attack()
  return table.move({}, "1", "4611686018427387904", 2)
end
