-- expect: script
-- call: attack
-- why: a yielded table whose __eq says "equal" to every marker, followed by a host call name and a raw table: not taken for a host call (it used to reach the worker and crash it)

function attack()
  local fake = setmetatable({}, {__eq = function() return true end})
  coroutine.yield(fake, "market.price", "v", {})
end
