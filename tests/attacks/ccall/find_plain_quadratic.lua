-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: plain find of a 512 KB near-miss needle in 1 MB of 'a': ~2.7e11 byte compares in one call

function attack()
  local hay = ("a"):rep(1 << 20)
  local needle = ("a"):rep(1 << 19) .. "b"  -- matches almost everywhere, fails at the last byte
  return hay:find(needle, 1, true)
end
