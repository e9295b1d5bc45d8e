-- expect: forbidden
-- call: attack
-- why: load(string.dump(f)) feeds crafted bytecode to the VM; `load` is read first and is forbidden

function attack()
  -- Lua evaluates the callee (`load`) before its argument (`string.dump`): both are denied
  return load(string.dump(function() return 1 end), "x", "b")()
end
