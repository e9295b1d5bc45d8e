-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.1
-- why: string.len as gsub's replacement: three million calls of a C function from C, all of one gsub and unhooked (0.3 s against a 0.1 s budget); the guard has the replacement called from Lua, where the hook sees it

function attack()
  return #(("a"):rep(3000000):gsub(".", string.len))
end
