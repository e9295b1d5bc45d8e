-- expect: forbidden
-- call: attack
-- why: debug.sethook() would remove the budget hook before a spin; `debug` is forbidden

function attack()
  debug.sethook()          -- clear the instruction/time hook...
  while true do end        -- ...then spin forever
end
