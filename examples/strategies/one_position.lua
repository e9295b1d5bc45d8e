-- One position per symbol: an entry is refused while the symbol has an open position, or a
-- pending order that would open one when its price comes, whoever placed it; orders other
-- plugins place are held to the same rule.
plugin = {priority = 30, guard = true}

-- Why an entry on `symbol` is refused, or nil.
local function taken(symbol)
  if #positions.list(symbol) > 0 then return "already a position open on " .. symbol end
  if #orders.list(symbol) > 0 then return "already a pending order on " .. symbol end
end

function on_alert(a)
  if a.side then
    local why = taken(a.symbol)
    if why then return false, why end
  end
end

function on_order(o)
  if o.kind == "market" or o.kind == "pending" then
    local why = taken(o.symbol)
    if why then return false, why end
  end
end
