-- Flat for the weekend: from Friday `at` to Sunday `until_at` (UTC), every position moonhook
-- opened is closed and its pending orders cancelled, and no entry is made, other plugins'
-- included (a prop firm's rule, or a gap at Sunday's open taken through a stop). Exits pass.
-- Forex closes at 17:00 New York: 21:00 UTC in the US summer, 22:00 in winter; 20:30 is before
-- both. Positions opened by hand in the terminal are left alone.
plugin = {
  priority = 5,
  guard = true,
  every = "1m",
  params = {weekday = "Friday", at = "20:30", until_weekday = "Sunday", until_at = "22:00"},
}

local DAYS = {Sunday = 0, Monday = 1, Tuesday = 2, Wednesday = 3, Thursday = 4, Friday = 5, Saturday = 6}

local function minute_of_week(day, hhmm)
  local h, m = string.match(hhmm, "^(%d%d?):(%d%d)$")
  assert(DAYS[day] and h, "params: a weekday such as Friday and a time such as 20:30, got " .. day .. " " .. hhmm)
  return DAYS[day] * 1440 + tonumber(h) * 60 + tonumber(m)
end

local function in_window()
  local from = minute_of_week(params.weekday, params.at)
  local to = minute_of_week(params.until_weekday, params.until_at)
  local t = os.date("!*t", math.floor(time.now()))
  local now = (t.wday - 1) * 1440 + t.hour * 60 + t.min
  if from <= to then return now >= from and now < to end
  return now >= from or now < to   -- over the week's turn, Saturday to Sunday
end

local function why()
  return "flat for the weekend: no entries from " .. params.weekday .. " " .. params.at .. " to "
         .. params.until_weekday .. " " .. params.until_at .. " UTC"
end

function on_load() in_window() end   -- bad params stop the load, with what is wrong

function on_alert(a)
  if a.side and in_window() then return false, why() end
end

function on_order(o)
  if (o.kind == "market" or o.kind == "pending") and in_window() then return false, why() end
end

function on_timer()
  if not in_window() then return end
  for _, p in ipairs(positions.list()) do
    if p.plugin ~= nil then
      local r = orders.close{ticket = p.ticket}
      if not r.ok then log.warn("position", p.ticket, "not closed for the weekend:", r.error) end
    end
  end
  for _, o in ipairs(orders.list()) do
    if o.plugin ~= nil then orders.close{ticket = o.ticket} end   -- a pending order's ticket: cancelled
  end
end
