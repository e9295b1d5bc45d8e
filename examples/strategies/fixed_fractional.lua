-- Fixed-fractional sizing: every entry risks the same share of the balance at its stop.
-- An alert's own `risk` wins over the default; an alert with an explicit size (volume or
-- units) is left alone.
plugin = {
  priority = 50,
  params = {risk_pct = 1.0, require_stop = true},
}

function on_alert(a)
  if a.side == nil or a.volume ~= nil or a.units ~= nil then return end
  local stop = a.sl
  local entry = a.price
  if entry == nil then
    local q = market.price(a.symbol)
    if q then entry = (a.side == "buy") and q.ask or q.bid end
  end
  if stop == nil and a.sl_pips and entry then
    local spec = market.symbol(a.symbol)
    local pip = spec.point * ((spec.digits == 3 or spec.digits == 5) and 10 or 1)
    stop = (a.side == "buy") and entry - a.sl_pips * pip or entry + a.sl_pips * pip
  end
  if stop == nil then
    if params.require_stop then return false, "no stop: fixed-fractional sizing needs sl or sl_pips" end
    return
  end
  local volume, why = risk.lot_size{symbol = a.symbol, risk_pct = a.risk or params.risk_pct,
                                    sl = stop, price = entry}
  if volume == 0 then return false, "cannot size: " .. tostring(why) end
  return {volume = volume, risk = false}  -- false removes a field
end
