-- expect: script
-- call: attack
-- budget: memory=64 timeout=5 instructions=100000000
-- why: non-tail recursion without end; with room in memory, Lua's own stack limit raises 'stack overflow'

function attack()
  local function f(n) return 1 + f(n + 1) end
  return f(1)
end
