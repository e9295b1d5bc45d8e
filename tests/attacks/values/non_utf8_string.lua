-- expect: script
-- call: attack
-- why: a returned string that is not UTF-8 cannot cross

function attack()
  return "\xff\xfe"
end
