-- expect: instructions
-- call: attack
-- budget: timeout=1 memory=16
-- why: os.date of 5 MB of "%%" without a time (the host's clock): charged by its length, over the default budget

function attack()
  return #os.date(("%%"):rep(2500000))
end
