-- expect: script
-- call: attack
-- why: three arrays of 60,000 booleans: every value counts toward the 100,000 cap, booleans and nil included, so the answer is refused instead of shipping a 180,000-letter shape

function attack()
  local out = {}
  for k = 1, 3 do
    local t = {}
    for i = 1, 60000 do t[i] = false end
    out[k] = t
  end
  return out
end
