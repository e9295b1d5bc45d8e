-- expect: memory
-- call: attack
-- budget: instructions=100000000
-- why: coroutines kept alive in a table: each one carries its own stack

function attack()
  local cos = {}
  while true do
    cos[#cos + 1] = coroutine.create(function() end)
  end
end
