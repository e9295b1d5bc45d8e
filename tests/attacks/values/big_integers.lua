-- expect: ok
-- call: attack
-- why: integers beyond 2^53 cross exactly (no trip through a double)
-- result: [9007199254740993, 9223372036854775807, -9223372036854775808]

function attack()
  return {(1 << 53) + 1, math.maxinteger, math.mininteger}
end
