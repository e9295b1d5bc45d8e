-- expect: forbidden
-- call: attack
-- why: os.execute runs a shell; the field is on the deny-list

function attack()
  return os.execute("touch /tmp/moonhook-pwned")
end
