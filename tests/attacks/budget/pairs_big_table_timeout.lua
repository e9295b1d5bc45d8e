-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.3 memory=64
-- why: pairs over 200,000 string keys sharing a long prefix, again and again: the sort compares the keys in C, charged per comparison by the longest key, and the clock is looked at as that work is charged, so the time budget ends it

function attack()
  local prefix = ("k"):rep(200)
  local t = {}
  for i = 1, 200000 do t[prefix .. i] = true end
  while true do
    for _ in pairs(t) do break end
  end
end
