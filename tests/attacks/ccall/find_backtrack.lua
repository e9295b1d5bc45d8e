-- expect: instructions
-- call: attack
-- budget: timeout=0.5
-- why: string.find with three lazy quantifiers on 400 'a's and no 'b': ~n^4 backtracking steps in one C call

function attack()
  return string.find(("a"):rep(400), "a-a-a-b")
end
