-- expect: script
-- call: attack
-- why: a coroutine yields a table whose __eq would receive the driver's host-call marker; compared raw, the marker never reaches the script, so it cannot forge a host call carrying a raw table

function attack()
  local stolen
  local co = coroutine.create(function()
    coroutine.yield(setmetatable({}, {__eq = function(a, b) stolen = stolen or b; return false end}))
  end)
  coroutine.resume(co)
  coroutine.yield(stolen, "market.price", "v", {})
end
