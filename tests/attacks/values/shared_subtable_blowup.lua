-- expect: script
-- call: attack
-- budget: timeout=0.1
-- why: 40,000 references to one array of 40,000 booleans: 1.6 billion values to walk on the unhooked main thread; every value counts toward the 100,000 cap, nil and booleans included

function attack()
  local x = {}
  for i = 1, 40000 do x[i] = true end
  local root = {}
  for i = 1, 40000 do root[i] = x end
  return root
end
