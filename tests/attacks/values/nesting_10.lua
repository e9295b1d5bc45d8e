-- expect: ok
-- call: attack
-- why: control: nesting 10 deep crosses
-- result: [[[[[[[[[["leaf"]]]]]]]]]]

function attack()
  local t = "leaf"
  for i = 1, 10 do t = {t} end
  return t
end
