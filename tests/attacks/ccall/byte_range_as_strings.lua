-- expect: instructions
-- call: attack
-- budget: instructions=300000 timeout=0.5
-- why: string.byte(s, "1", "-1") over 900 KB: positions given as strings are charged like integers (900k bytes under what is left of a 300k budget)

function attack()
  local s = ("x"):rep(900000)
  return select("#", string.byte(s, "1", "-1"))
end
