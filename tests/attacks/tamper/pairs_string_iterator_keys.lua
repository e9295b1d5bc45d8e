-- expect: ok
-- call: attack
-- why: control: pairs(string) still enumerates the library's fields, and its iterator called by hand yields nothing writable
-- result: [13, "table", true]

function attack()
  local f, state, k0 = pairs(string)
  local n = 0
  for k, v in f, state, k0 do n = n + 1 end
  return {n, type(state), state == string}
end
