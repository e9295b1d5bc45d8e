-- expect: ok
-- call: attack
-- why: control: a table met again in one return crosses as the first time, an array in order even when `next` gives its keys out of order
-- result: [[1, 2, 3], [1, 2, 3], {"k": "v", "n": [1, 2, 3]}, {"k": "v", "n": [1, 2, 3]}]
function attack()
  local a = {}
  a[3] = 3; a[2] = 2; a[1] = 1
  local m = {k = "v", n = a}
  return {a, a, m, m}
end
