-- expect: ok
-- call: attack
-- why: replacing print only changes the script's own global; the call still returns normally
-- result: 1

function attack()
  local n = 0
  print = function() n = n + 1 end
  print("captured by the script")
  return n
end
