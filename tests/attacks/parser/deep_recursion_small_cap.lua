-- expect: memory
-- call: attack
-- budget: memory=4
-- why: non-tail recursion under a 4 MB cap: the stack growth hits the cap long before Lua's stack limit

function attack()
  local function f(n) return 1 + f(n + 1) end
  return f(1)
end
