-- One position per symbol: an entry is refused while the symbol has an open position,
-- whoever placed it; orders other plugins place are held to the same rule.
plugin = {priority = 30, guard = true}

local function open_on(symbol) return #positions.list(symbol) > 0 end

function on_alert(a)
  if a.side and open_on(a.symbol) then
    return false, "already a position open on " .. a.symbol
  end
end

function on_order(o)
  if (o.kind == "market" or o.kind == "pending") and open_on(o.symbol) then
    return false, "already a position open on " .. o.symbol
  end
end
