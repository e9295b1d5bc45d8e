-- expect: memory
-- call: attack
-- budget: instructions=100000000
-- why: the message handler allocates without end; handler allocations count against the cap

function attack()
  return xpcall(error, function()
    local t = {}
    while true do t[#t + 1] = {} end
  end)
end
