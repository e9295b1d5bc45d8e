-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.1 memory=64
-- why: os.date of 2.5 million conversions: one strftime each, about half a second in one C call

function attack()
  return #os.date(("%c"):rep(2500000), 0)
end
