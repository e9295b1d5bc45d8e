-- Trend filter: refuses entries against the trend of a higher timeframe.
-- The trend comes from TradingView too: an alert "trend EURUSD H4 up" sets it, and so does
-- examples/tradingview/trend.json sent from a 4-hour chart, whose {{interval}} names it "240"
-- (minutes; "1D", "1W" for a day, a week): the filter reads the trend under either name.
plugin = {
  priority = 10,  -- early: a refused alert costs the later plugins nothing
  guard = true,
  params = {timeframe = "H4", allow_when_unknown = true, allow_flat = false},
}

-- TradingView's {{interval}} for a timeframe such as M15, H4, D1 or W1: "15", "240", "1D", "1W".
local function tradingview(tf)
  local unit, n = string.match(tf, "^(%a)(%d*)$")
  n = tonumber(n ~= "" and n or "1")
  if unit == "M" then return tostring(n) end
  if unit == "H" then return tostring(n * 60) end
  if unit == "D" or unit == "W" then return n .. unit end
end

-- The trend recorded for `symbol` under the timeframe's own name or TradingView's.
local function trend_of(symbol)
  local tf = params.timeframe
  local alias = tradingview(tf)
  local found = trend.get(symbol, tf)
  if found == nil and alias ~= nil then found = trend.get(symbol, alias) end
  if found == nil and alias ~= nil and string.match(alias, "^1[DW]$") then   -- older TradingView: "D", "W"
    found = trend.get(symbol, string.sub(alias, 2))
  end
  return found
end

function on_alert(a)
  if a.side == nil then return end  -- closes, SL/TP changes and trend alerts pass
  local trend = trend_of(a.symbol)
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
