-- expect: forbidden
-- call: attack
-- why: os.exit would kill the worker process; the field is on the deny-list

function attack()
  os.exit(0, true)
end
