-- expect: script
-- call: attack
-- why: tostring replaced by a spinning function, then error({}): the host reports the error without the script's tostring

function attack()
  tostring = function() while true do end end
  print = tostring
  error({})
end
