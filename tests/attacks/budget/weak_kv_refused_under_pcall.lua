-- expect: forbidden
-- call: attack
-- why: "kv" has weak keys too, and the refusal cannot be caught by pcall
function attack()
  local ok = pcall(setmetatable, {}, {__mode = "kv"})
  return ok
end
