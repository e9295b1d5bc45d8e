-- expect: instructions
-- call: attack
-- why: 21 lazy items that all match 'a': the guard's factorial of 21 wrapped around to a negative integer and the estimate collapsed; it is computed in floats

function attack()
  return string.find(("a"):rep(40), ("a-"):rep(21) .. "b")
end
