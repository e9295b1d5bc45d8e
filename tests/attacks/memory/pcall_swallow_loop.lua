-- expect: memory
-- call: attack
-- budget: instructions=100000000
-- why: memory errors caught by pcall in a loop; the first one must end the call

function attack()
  while true do
    pcall(function()
      local s = "x"
      while true do s = s .. s end
    end)
  end
end
