-- expect: ok
-- call: attack
-- why: control: the largest legal width and precision on the largest double is a 410-byte string
-- result: 410

function attack()
  return #string.format("%99.99f", -1e308)
end
