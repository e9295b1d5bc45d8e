-- expect: ok
-- call: attack
-- why: positive and negative infinity are numbers and cross
-- result: [Infinity, -Infinity]

function attack()
  return {math.huge, -math.huge}
end
