-- expect: instructions
-- call: attack
-- why: string.gsub calls a replacement function that spins (Lua code called from C)

function attack()
  return (string.gsub("abc", "%w", function() while true do end end))
end
