-- expect: ok
-- call: attack
-- why: enumerating _G, os and string must not turn up any denied capability
-- result: "none"

function attack()
  local bad = {python = 1, io = 1, package = 1, require = 1, dofile = 1, loadfile = 1,
               load = 1, loadstring = 1, debug = 1, collectgarbage = 1, warn = 1}
  for k in pairs(_G) do
    if bad[k] then return k end
  end
  for k in pairs(os) do
    if k ~= "clock" and k ~= "time" and k ~= "date" and k ~= "difftime" then return "os." .. k end
  end
  for k in pairs(string) do
    if k == "dump" then return "string.dump" end
  end
  return "none"
end
