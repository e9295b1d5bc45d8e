-- expect: ok
-- call: attack
-- why: control: os keeps clock, time, date and difftime, and they work
-- result: true

function attack()
  return type(os.clock()) == "number"
     and math.type(os.time()) == "integer"
     and os.date("!%Y", 0) == "1970"
     and os.difftime(2, 1) == 1.0
end
