-- expect: script
-- call: attack
-- why: a returned table with a non-UTF-8 key cannot cross

function attack()
  return {["\xff"] = 1}
end
