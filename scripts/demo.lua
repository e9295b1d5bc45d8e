-- A first strategy: passes entries through with a tag, refuses entries without a stop loss.
plugin = { name = "demo", symbols = "*", priority = 100 }

function on_alert(alert)
  if (alert.action == "buy" or alert.action == "sell") and not alert.sl then
    return false, "entries need a stop loss"
  end
  log.info("demo saw", alert.symbol, alert.action)
  return { comment = "demo" }
end
