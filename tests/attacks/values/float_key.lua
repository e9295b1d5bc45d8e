-- expect: script
-- call: attack
-- why: a float key (1.5) is neither a string nor an integer

function attack()
  return {[1.5] = "half"}
end
