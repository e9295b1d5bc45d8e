-- Fixed-fractional sizing: every entry risks the same share of the balance at its stop.
-- An alert's own `risk` or `risk_amount` wins over the default; an alert with an explicit
-- size (volume or units) is left alone. The engine does the sizing (as for an alert's own
-- `risk`): from where the entry fills, the broker's ask for a buy and not the chart's price,
-- to the stop where the broker puts it. A script sizing from the alert's price would risk
-- more than asked by the spread (risk.lot_size measures from the quote when given no price).
plugin = {
  priority = 50,
  params = {risk_pct = 1.0, require_stop = true},
}

function on_alert(a)
  if a.side == nil or a.volume ~= nil or a.units ~= nil then return end
  if a.sl == nil and a.sl_pips == nil then
    if params.require_stop then return false, "no stop: fixed-fractional sizing needs sl or sl_pips" end
    return
  end
  if a.risk == nil and a.risk_amount == nil then return {risk = params.risk_pct} end
end
