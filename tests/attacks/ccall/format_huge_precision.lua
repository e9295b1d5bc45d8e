-- expect: script
-- call: attack
-- budget: timeout=0.5
-- why: string.format with a huge precision: Lua rejects it as an invalid conversion

function attack()
  return string.format("%.99999f", 1)
end
