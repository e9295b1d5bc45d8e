-- Trading-session window: entries only between two UTC times on weekdays, whoever places them.
-- Exits and SL/TP changes always pass: a position must be closable at any hour.
plugin = {
  priority = 20,
  guard = true,
  params = {start = "07:00", stop = "16:30", weekdays_only = true},
}

local function minutes(hhmm)
  local h, m = string.match(hhmm, "^(%d+):(%d+)$")
  return tonumber(h) * 60 + tonumber(m)
end

-- Why entries are refused now, or nil.
local function outside()
  local t = os.date("!*t", math.floor(time.now()))
  if params.weekdays_only and (t.wday == 1 or t.wday == 7) then
    return "outside the session: weekend"
  end
  local now, from, to = t.hour * 60 + t.min, minutes(params.start), minutes(params.stop)
  local inside
  if from <= to then inside = now >= from and now < to else inside = now >= from or now < to end
  if not inside then
    return string.format("outside the session %s-%s UTC (now %02d:%02d)", params.start, params.stop, t.hour, t.min)
  end
end

function on_alert(a)
  if a.side == nil then return end
  local why = outside()
  if why then return false, why end
end

-- Other plugins' entries keep the same hours.
function on_order(o)
  if o.kind == "market" or o.kind == "pending" then
    local why = outside()
    if why then return false, why end
  end
end
