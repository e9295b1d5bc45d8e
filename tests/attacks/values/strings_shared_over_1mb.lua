-- expect: script
-- call: attack
-- budget: instructions=100000000000
-- why: one 512 KB string referenced three times: each reference counts, 1.5 MB in all

function attack()
  local s = ("x"):rep(512 * 1024)
  return {s, s, s}
end
