-- expect: ok
-- call: attack
-- why: the same table twice is a DAG, not a cycle: it crosses as two copies
-- result: [[1], [1]]

function attack()
  local leaf = {1}
  return {leaf, leaf}
end
