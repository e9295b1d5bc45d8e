-- expect: ok
-- call: attack
-- why: control: an empty table comes back as {}
-- result: {}

function attack()
  return {}
end
