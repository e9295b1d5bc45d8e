-- Break-even stop: once a position is `trigger_pips` in profit, its stop moves to the
-- entry price plus `lock_pips`. Fills are remembered in on_fill; on_timer checks prices.
plugin = {
  priority = 100,
  every = "5s",
  params = {trigger_pips = 20, lock_pips = 1},
}

local function pip(symbol)
  local s = market.symbol(symbol)
  return s.point * ((s.digits == 3 or s.digits == 5) and 10 or 1), s.digits
end

function on_fill(f)
  if f.entry == "in" then store.set("watch:" .. f.position, {symbol = f.symbol, side = f.side}) end
end

function on_close(p) store.delete("watch:" .. p.ticket) end

function on_timer()
  for _, key in ipairs(store.keys("watch:")) do
    local ticket = tonumber(string.sub(key, 7))
    for _, p in ipairs(positions.list(store.get(key).symbol)) do
      if p.ticket == ticket then
        local size, digits = pip(p.symbol)
        local q = market.price(p.symbol)
        local dir = (p.side == "buy") and 1 or -1
        local now = (p.side == "buy") and q.bid or q.ask
        local gained = (now - p.price_open) * dir / size
        local target = p.price_open + dir * params.lock_pips * size
        local moved = p.sl and (p.sl - target) * dir >= -size / 100
        -- a hundredth of a pip short is the float's error: 150.00 - 149.80 is 19.99999 pips
        if gained >= params.trigger_pips - 0.01 and not moved then
          local factor = 10 ^ digits
          local r = orders.modify{ticket = ticket, sl = math.floor(target * factor + 0.5) / factor}
          if r.ok then log.info("stop of", ticket, "moved to break-even") end
        end
      end
    end
  end
end
