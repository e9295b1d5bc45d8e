-- Take profits in steps, as signal services give them (TP1, TP2, then the target): a JSON
-- alert's "tp1" and "tp2" are prices where part of its position is closed, "tp1_pct" and
-- "tp2_pct" of what it opened with (50 and 25 by default); "tp" stays the broker's target for
-- what is left. Once TP1 is taken, the stop moves to the entry (params.breakeven).
--   {"action": "buy", "symbol": "EURUSD", "risk": 1, "sl": 1.0800, "tp1": 1.0880,
--    "tp2": 1.0920, "tp": 1.0980}
-- The price is looked at on the timer (every 2 s): a level touched and left between two looks
-- is not taken, as an expert advisor between two ticks.
plugin = {
  priority = 100,
  every = "2s",
  params = {tp1_pct = 50, tp2_pct = 25, breakeven = true, keep_days = 31},
}

-- The alert's field as a number above `least`, at most `most`; or nil and what is wrong.
local function number(a, field, least, most)
  local n = tonumber(a[field])
  if n == nil or n <= least or n > most then
    return nil, field .. ": expected a number above " .. least .. (most < math.huge and (", at most " .. most) or "")
                .. ", got " .. tostring(a[field])
  end
  return n
end

function on_alert(a)
  if a.tp1 == nil and a.tp2 == nil then return nil end
  if not a.side then return false, "tp1 and tp2 are for an entry (buy or sell)" end
  local steps = {}
  for i = 1, 2 do
    if a["tp" .. i] ~= nil then
      local price, wrong = number(a, "tp" .. i, 0, math.huge)
      if not price then return false, wrong end
      local pct = params["tp" .. i .. "_pct"]
      if a["tp" .. i .. "_pct"] ~= nil then
        pct, wrong = number(a, "tp" .. i .. "_pct", 0, 100)
        if not pct then return false, wrong end
      end
      if a.price and (price - a.price) * (a.side == "buy" and 1 or -1) <= 0 then
        return false, "tp" .. i .. ": " .. price .. " is not on the profit side of " .. a.price .. " for a " .. a.side
      end
      steps[#steps + 1] = {price = price, pct = pct}
    end
  end
  store.set("ask:" .. a.alert_id, {steps = steps, at = time.now()})
end

function on_fill(f)
  if f.entry ~= "in" or not f.alert_id then return end
  local ask = store.get("ask:" .. f.alert_id)
  if ask then
    store.set("steps:" .. f.position, {steps = ask.steps, volume = f.volume, price = f.price, side = f.side})
    store.delete("ask:" .. f.alert_id)
  end
end

function on_close(p) store.delete("steps:" .. p.ticket) end

-- Lots to close for `pct` of `opened`, on the symbol's step; all of `left` when too little stays.
local function part(spec, opened, pct, left)
  local step = spec.volume_step
  local lots = math.floor(opened * pct / 100 / step + 1e-9) * step
  if lots < spec.volume_min then lots = spec.volume_min end
  if left - lots < spec.volume_min - 1e-9 then return nil end   -- the rest: whole, by its target or stop
  return tonumber(string.format("%.8f", lots))
end

local function take(p, plan)
  local spec, q = market.symbol(p.symbol), market.price(p.symbol)
  if spec == nil or q == nil then return end
  local long = p.side == "buy"
  local now = long and q.bid or q.ask
  local step = plan.steps[1]
  if step == nil or (now - step.price) * (long and 1 or -1) < 0 then return end
  -- What the plan's steps so far leave open, less what was closed otherwise (by hand, another
  -- plugin): a step still closes its share of what the position opened with.
  local left = math.min(plan.left or plan.volume, plan.sent or p.volume)
  local lots = part(spec, plan.volume, step.pct, left)
  if plan.sent and p.volume < plan.sent - 1e-9 then
    -- Smaller than when this step's close was sent: it went through and its answer or the plan's
    -- note of it was lost (a restart, MetaTrader gone before it answered). Not taken again.
    log.info("position", p.ticket, "already at", p.volume, "lots: the step at", step.price, "was taken")
  else
    plan.sent = p.volume   -- noted first: a close whose answer is lost is then known by the volume
    store.set("steps:" .. p.ticket, plan)
    local r = orders.close{ticket = p.ticket, volume = lots}   -- nil: the whole position
    if not r.ok then
      log.warn("position", p.ticket, "not taken at", step.price, ":", r.error)
      if r.volume == nil then   -- nothing closed: tried again at the next look (closed in part: taken then)
        plan.sent = nil
        store.set("steps:" .. p.ticket, plan)
      end
      return
    end
  end
  table.remove(plan.steps, 1)
  plan.taken = (plan.taken or 0) + 1
  plan.left = lots and tonumber(string.format("%.8f", math.min(p.volume, left - lots)))
  plan.sent = nil
  store.set("steps:" .. p.ticket, plan)
  if plan.taken == 1 and params.breakeven and lots then
    local moved = orders.modify{ticket = p.ticket, sl = plan.price}
    if not moved.ok then log.warn("stop of", p.ticket, "not moved to the entry:", moved.error) end
  end
end

function on_timer()
  for _, p in ipairs(positions.list()) do
    local plan = store.get("steps:" .. p.ticket)
    if plan then take(p, plan) end
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
