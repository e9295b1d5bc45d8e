-- expect: ok
-- call: attack
-- why: global functions named with bytes that are not UTF-8 or not identifiers: the driver lists only identifier names, so the names never reach the host (a non-UTF-8 name used to crash the worker)
-- result: "loaded"

_G["\xff"] = function() end
_G["on_alert\nfake"] = function() end
_G[""] = function() end
function attack() return "loaded" end
