-- expect: ok
-- call: attack
-- why: NaN is a number and crosses (no result line: NaN never compares equal to itself)

function attack()
  return 0/0
end
