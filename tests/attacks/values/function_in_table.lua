-- expect: script
-- call: attack
-- why: a function nested in a returned table cannot cross

function attack()
  return {ok = true, callback = print}
end
