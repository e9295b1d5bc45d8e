-- expect: forbidden
-- call: attack
-- why: os.remove deletes files; the field is on the deny-list

function attack()
  return os.remove("/tmp/moonhook-victim")
end
