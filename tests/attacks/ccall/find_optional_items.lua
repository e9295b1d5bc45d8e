-- expect: instructions
-- call: attack
-- why: 40 optional items then 40 fixed ones ("a?a?...aaa"): each ? doubles the backtracking; the guard counted ? items as fixed
-- budget: timeout=0.5

function attack()
  return string.find(("a"):rep(40), ("a?"):rep(40) .. ("a"):rep(40))
end
