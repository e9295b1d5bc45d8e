-- The example strategy: refuses entries that come without a stop loss, passes the rest.
-- Every .lua file in scripts/ is a plugin, named after its file (or its plugin.name); [plugins.demo] in
-- moonhook.toml sets its params. More examples: examples/strategies/ in the moonhook repository.
plugin = {
  priority = 10,
  guard = true,  -- should this script fail, an entry is refused rather than let through
  params = {allow_without_stop = false},
}

function on_alert(a)
  if a.side == nil or params.allow_without_stop then return end  -- exits always pass
  if a.sl == nil and a.sl_pips == nil then
    return false, "entries need a stop loss: add sl or sl_pips to the alert"
  end
end
