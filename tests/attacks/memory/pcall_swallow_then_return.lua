-- expect: memory
-- call: attack
-- budget: instructions=100000000
-- why: a memory error caught by pcall, then a normal return

function attack()
  pcall(function()
    local t = {}
    for i = 1, 1e9 do t[i] = i end
  end)
  return "swallowed"
end
