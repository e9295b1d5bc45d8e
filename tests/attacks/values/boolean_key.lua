-- expect: script
-- call: attack
-- why: a boolean key is neither a string nor an integer

function attack()
  return {[true] = "yes"}
end
