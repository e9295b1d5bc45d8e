-- Pending-order expiry: a limit or stop order still waiting `minutes` after this plugin first
-- saw it is cancelled, whoever placed it (an alert, another plugin, an admin); orders placed
-- by hand in the terminal are left alone. The age is measured on moonhook's clock, from the
-- first timer run that saw the order (a broker's own times may be in its server's zone).
-- It also tells the chats when the broker ends an order itself (on_cancel).
plugin = {
  priority = 100,
  every = "30s",
  params = {minutes = 60},
}

function on_timer()
  local now, waiting, written = time.now(), {}, 0   -- a plugin's writes a tick are limited: 100, the rest next tick
  for _, o in ipairs(orders.list()) do
    if o.plugin then
      local key = "since:" .. o.ticket
      waiting[key] = true
      local since = store.get(key)
      if not since then
        if written < 100 then store.set(key, now); written = written + 1 end
      elseif now - since >= params.minutes * 60 then
        local r = orders.cancel{ticket = o.ticket, comment = "expired"}   -- filled meanwhile: refused, kept
        if r.ok then log.info("cancelled", o.ticket, o.symbol, "after", params.minutes, "minutes") end
      end
    end
  end
  for _, key in ipairs(store.keys("since:")) do
    if written == 100 then return end
    if not waiting[key] then store.delete(key); written = written + 1 end   -- filled or cancelled meanwhile
  end
end

function on_cancel(o)
  notify.send(string.format("%s %s order %d on %s was %s at the broker", o.side, o.type, o.ticket, o.symbol,
                            o.reason))
end
