-- expect: instructions
-- call: attack
-- why: a <close> handler that spins when its scope ends normally

function attack()
  do
    local x <close> = setmetatable({}, {__close = function() while true do end end})
  end  -- the handler runs here
  return "done"
end
