-- Trend filter: refuses entries against the trend of a higher timeframe.
-- The trend comes from TradingView too: an alert "trend EURUSD H4 up" sets it.
plugin = {
  priority = 10,  -- early: a refused alert costs the later plugins nothing
  guard = true,
  params = {timeframe = "H4", allow_when_unknown = true, allow_flat = false},
}

function on_alert(a)
  if a.side == nil then return end  -- closes, SL/TP changes and trend alerts pass
  local trend = trend.get(a.symbol, params.timeframe)
  if trend == nil then
    if params.allow_when_unknown then return end
    return false, "no " .. params.timeframe .. " trend known for " .. a.symbol
  end
  if trend == "flat" and not params.allow_flat then
    return false, a.symbol .. " " .. params.timeframe .. " trend is flat"
  end
  if (a.side == "buy" and trend == "down") or (a.side == "sell" and trend == "up") then
    return false, a.side .. " against the " .. params.timeframe .. " " .. trend .. " trend"
  end
end
