-- expect: script
-- call: attack
-- why: a function cannot cross

function attack()
  return function() end
end
