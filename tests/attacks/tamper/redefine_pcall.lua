-- expect: instructions
-- call: attack
-- why: the script's own global pcall redefined before a spin: the sandbox never looks up `pcall` in the script's globals

function attack()
  local real = pcall
  pcall = function(f, ...) local ok = real(f, ...); return true end  -- claims success always
  while true do pcall(function() while true do end end) end
end
