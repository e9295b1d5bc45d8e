-- expect: forbidden
-- call: attack
-- why: lupa's `python` bridge reaches every Python object; reading the global is forbidden

function attack()
  local py = python  -- the read alone must fail, before any use
  return py.eval("__import__('os').system('id')")
end
