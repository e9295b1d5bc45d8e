-- expect: memory
-- call: attack
-- budget: memory=4
-- why: two functions calling each other without end under a 4 MB cap

function attack()
  local g
  local function f(n) return 1 + g(n) end
  function g(n) return 1 + f(n + 1) end
  return f(1)
end
