-- expect: instructions
-- call: attack
-- why: table.sort calls a comparator that spins (Lua code called from C)

function attack()
  table.sort({3, 1, 2}, function(a, b) while true do end end)
end
