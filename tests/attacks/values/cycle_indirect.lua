-- expect: script
-- call: attack
-- why: a cycle through two tables (a -> b -> a) cannot cross

function attack()
  local a, b = {}, {}
  a.next, b.next = b, a
  return a
end
