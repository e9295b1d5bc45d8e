-- expect: script
-- call: attack
-- budget: instructions=2000000
-- why: the pcall_recursion attack through coroutine.resume instead: nesting of catchers is capped the same way

function attack()
  local function f()
    local co = coroutine.create(f)
    coroutine.resume(co)
    coroutine.resume(coroutine.create(f))
  end
  f()
end
