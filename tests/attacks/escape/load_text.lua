-- expect: forbidden
-- call: attack
-- why: load compiles new code at run time (and bytecode with mode 'b'); the global is on the deny-list

function attack()
  return load("return 1")()
end
