-- expect: memory
-- call: attack
-- budget: instructions=100000000
-- why: closures with fresh upvalues kept alive

function attack()
  local fs = {}
  while true do
    local n = #fs
    fs[n + 1] = function() return n end
  end
end
