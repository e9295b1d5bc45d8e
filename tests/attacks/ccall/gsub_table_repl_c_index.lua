-- expect: timeout
-- call: attack
-- budget: instructions=100000000000 timeout=0.1
-- why: a replacement table whose __index is a C function (type): each match's lookup calls it from C, unhooked, as a C function replacement would; the guard looks it up from Lua

function attack()
  return #(("a"):rep(3000000):gsub(".", setmetatable({}, {__index = type})))
end
