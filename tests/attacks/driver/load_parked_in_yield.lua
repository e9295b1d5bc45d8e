-- expect: script
-- why: the chunk yields a table that claims to equal the host-call marker, hoping the load succeeds while the chunk is parked in its own yield; it is an ordinary yield outside a coroutine

coroutine.yield(setmetatable({}, {__eq = function() return true end}))
function attack() return 1 end
