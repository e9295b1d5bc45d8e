-- expect: forbidden
-- call: attack
-- why: os.getenv leaks the host environment (API keys); the field is on the deny-list

function attack()
  return os.getenv("HOME")
end
