-- Trailing stop: once a position is `start_pips` in profit, its stop follows the price it
-- would close at (the bid for a long, the ask for a short) `distance_pips` behind, forward
-- only, and by `step_pips` at least: each move is a request to the trade server, and brokers
-- frown on a stream of them. MetaTrader's own trailing stop lives in the terminal's window;
-- this one lives in moonhook, on the timer.
--
-- Which positions: with `distance_pips` above 0, every position moonhook opened on the
-- plugin's symbols (`plugin.symbols`, read through engine.symbol_map as the engine reads them:
-- a TradingView ticker there names the broker's symbol). A JSON alert can ask it for its own
-- positions only:
--   {"action": "buy", "symbol": "EURUSD", "risk": 1, "sl_pips": 30, "trail_pips": 20,
--    "trail_start_pips": 10}
-- (`trail_step_pips` too), whatever `distance_pips` says.
plugin = {
  priority = 100,
  every = "2s",
  params = {distance_pips = 0, start_pips = 0, step_pips = 1, keep_days = 31},
}

local FIELDS = {trail_pips = "distance", trail_start_pips = "start", trail_step_pips = "step"}

local function pip(spec)
  return spec.point * ((spec.digits == 3 or spec.digits == 5) and 10 or 1)
end

-- The positions on the plugin's symbols. positions.list reads a name through engine.symbol_map,
-- as the engine reads plugin.symbols: "GOLD" mapped to the broker's "XAUUSD" lists XAUUSD's.
local function watched_positions()
  local s = plugin.symbols
  if s == nil or s == "*" then return positions.list() end
  local found, seen = {}, {}
  for _, name in ipairs(s) do
    for _, p in ipairs(positions.list(name)) do
      if not seen[p.ticket] then seen[p.ticket], found[#found + 1] = true, p end
    end
  end
  return found
end

-- An alert's own trail, kept by its id until its entry fills (a pending order may wait long).
function on_alert(a)
  if a.trail_pips == nil then
    if a.trail_start_pips ~= nil or a.trail_step_pips ~= nil then
      return false, "trail_start_pips and trail_step_pips need trail_pips"
    end
    return nil
  end
  local rule = {start = params.start_pips, step = params.step_pips, at = time.now()}
  for field, key in pairs(FIELDS) do
    if a[field] ~= nil then
      local n = tonumber(a[field])
      if n == nil or n < 0 or (key == "distance" and n <= 0) then
        return false, field .. ": expected a number of pips" .. (key == "distance" and " above 0" or ", 0 or more")
                      .. ", got " .. tostring(a[field])
      end
      rule[key] = n
    end
  end
  store.set("ask:" .. a.alert_id, rule)
end

function on_fill(f)
  if f.entry == "in" and f.alert_id then
    local rule = store.get("ask:" .. f.alert_id)
    if rule then
      store.set("trail:" .. f.position, rule)
      store.delete("ask:" .. f.alert_id)
    end
  end
end

function on_close(p) store.delete("trail:" .. p.ticket) end

local function rule_of(p)
  local own = store.get("trail:" .. p.ticket)
  if own then return own end
  if params.distance_pips > 0 and p.plugin ~= nil then
    return {distance = params.distance_pips, start = params.start_pips, step = params.step_pips}
  end
end

-- Where the stop of `p` should be now, or nil to leave it.
local function next_stop(p, rule)
  local spec, q = market.symbol(p.symbol), market.price(p.symbol)
  if spec == nil or q == nil then return nil end
  local size, long = pip(spec), p.side == "buy"
  local dir, now = long and 1 or -1, long and q.bid or q.ask
  if (now - p.price_open) * dir < rule.start * size - size / 100 then return nil end
  local distance = math.max(rule.distance * size, (spec.stops_level or 0) * spec.point)
  local factor = 10 ^ spec.digits
  local sl = now - dir * distance
  sl = (long and math.floor(sl * factor + 1e-6) or math.ceil(sl * factor - 1e-6)) / factor
  local step = math.max(rule.step, 0.1) * size
  if p.sl and p.sl ~= 0 and (sl - p.sl) * dir < step - size / 100 then return nil end
  return sl
end

function on_timer()
  for _, p in ipairs(watched_positions()) do
    local rule = rule_of(p)
    local sl = rule and next_stop(p, rule)
    if sl then
      local r = orders.modify{ticket = p.ticket, sl = sl}
      if r.ok then log.info("stop of", p.ticket, "trailed to", sl)
      else log.warn("stop of", p.ticket, "not trailed to", sl, ":", r.error) end
    end
  end
  if time.now() - (store.get("purged") or 0) >= 3600 then   -- asks whose entry never filled
    local old, deleted = time.now() - params.keep_days * 86400, 0
    for _, key in ipairs(store.keys("ask:")) do
      if deleted == 100 then return end   -- the rest next tick: a plugin's writes a tick are limited
      if store.get(key).at < old then store.delete(key); deleted = deleted + 1 end
    end
    store.set("purged", time.now())
  end
end
