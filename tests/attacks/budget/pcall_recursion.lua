-- expect: script
-- call: attack
-- budget: instructions=2000000
-- why: recursion through pcall, twice per level: at the C-stack limit the budget hook cannot be called and the
-- defence: catchers nest at most 100 deep; deeper nesting ends the call (uncatchable), long before the limit

function attack()
  local function f()
    pcall(f)  -- fails at the C-stack limit and is caught...
    pcall(f)  -- ...then tried again at every level: 2^200 calls
  end
  f()
end
