-- expect: forbidden
-- call: attack
-- why: math.randomseed() reseeds from the clock and returns an address-derived seed (ASLR leak); denied

function attack()
  return math.randomseed()
end
