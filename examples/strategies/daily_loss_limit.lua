-- Daily loss limit: once the day's closed losses reach the limit, no new entries until
-- the next UTC day, whoever places them: alerts, and orders other plugins place. The running
-- total lives in the store, so it survives restarts. It counts each deal as the balance books
-- it, profit, commission (fees too) and swap: a scalper's commissions are money lost too.
-- A deal counts on the UTC day it was booked, even when told later (just after midnight, or at
-- the next start for a stop hit while moonhook was stopped): yesterday's loss never blocks today.
plugin = {
  priority = 5,
  guard = true,  -- failing (the store or the broker not answering), it refuses entries
  params = {max_loss_pct = 3.0},
}

local function day(t) return os.date("!%Y-%m-%d", math.floor(t)) end
local function today() return day(time.now()) end

function on_fill(f)
  -- A fill told again after a crash (f.again) may have been counted before it: deals are told
  -- in the order they are numbered, and the last one counted is kept, so none counts twice.
  local last = store.get("last_deal") or 0
  if f.again and f.deal <= last then return end
  local key = "pnl:" .. day(f.time or time.now())
  store.set(key, (store.get(key) or 0) + (f.profit or 0) + (f.commission or 0) + (f.swap or 0))
  if f.deal > last then store.set("last_deal", f.deal) end
end

-- Why entries are refused today, or nil.
local function reached()
  local pnl = store.get("pnl:" .. today()) or 0
  local limit = account.info().balance * params.max_loss_pct / 100
  if pnl <= -limit then
    return string.format("daily loss limit: %.2f lost today, limit %.2f", -pnl, limit)
  end
end

function on_alert(a)
  if a.side == nil then return end
  local why = reached()
  if why then
    notify.send(why .. "; " .. a.side .. " " .. a.symbol .. " refused")
    return false, why
  end
end

function on_order(o)
  if o.kind == "market" or o.kind == "pending" then
    local why = reached()
    if why then return false, why end
  end
end
