-- expect: forbidden
-- call: attack
-- why: reaching `python` through the _G table instead of the bare name is still forbidden

function attack()
  return _G.python.builtins
end
