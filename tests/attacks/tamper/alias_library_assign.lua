-- expect: forbidden
-- call: attack
-- why: assigning through a local alias of a library table is the same refused assignment

function attack()
  local m = math
  m.random = nil
end
