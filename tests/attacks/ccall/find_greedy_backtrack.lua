-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: eight greedy `a*` then a missing 'b': polynomial degree 8 backtracking

function attack()
  local s = ("a"):rep(300)
  return s:find(("a*"):rep(8) .. "b")
end
