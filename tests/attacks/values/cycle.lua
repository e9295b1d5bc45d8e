-- expect: script
-- call: attack
-- why: a table that contains itself (t.self = t) cannot cross

function attack()
  local t = {name = "loop"}
  t.self = t
  return t
end
