-- expect: ok
-- call: attack
-- why: {1, 2, x=3} is not an array (keys are not exactly 1..n): it crosses as a map with integer and string keys
-- result: {"1": 1, "2": 2, "x": 3}

function attack()
  return {1, 2, x = 3}
end
