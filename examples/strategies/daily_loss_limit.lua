-- Daily loss limit: once the day's closed losses reach the limit, no new entries until
-- the next UTC day. The running total lives in the store, so it survives restarts.
plugin = {
  priority = 5,
  guard = true,  -- failing (the store or the broker not answering), it refuses entries
  params = {max_loss_pct = 3.0},
}

local function today() return os.date("!%Y-%m-%d", math.floor(time.now())) end

function on_close(p)
  local key = "pnl:" .. today()
  store.set(key, (store.get(key) or 0) + p.profit)
end

function on_alert(a)
  if a.side == nil then return end
  local pnl = store.get("pnl:" .. today()) or 0
  local limit = account.info().balance * params.max_loss_pct / 100
  if pnl <= -limit then
    notify.send(string.format("daily loss limit reached (%.2f); %s %s refused", pnl, a.side, a.symbol))
    return false, string.format("daily loss limit: %.2f lost today, limit %.2f", -pnl, limit)
  end
end
