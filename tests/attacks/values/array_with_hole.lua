-- expect: ok
-- call: attack
-- why: {1, nil, 3} has a raw length of 3 but keys {1, 3}: it must cross as a map, never as an array holding nil
-- result: {"1": 1, "3": 3}

function attack()
  return {1, nil, 3}
end
