-- expect: script
-- call: attack
-- why: the call yields a table whose __eq spins; the driver compares what a call yields with its private markers raw, so the metamethod never runs on the unhooked main thread

function attack()
  coroutine.yield(setmetatable({}, {__eq = function() while true do end end}))
end
