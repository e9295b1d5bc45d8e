-- expect: instructions
-- call: attack
-- why: cheap caught errors in a loop; catching ordinary errors must not reset the count

function attack()
  while true do pcall(error, "again") end
end
