-- expect: instructions
-- call: attack
-- why: a __len returning a table whose arithmetic metamethods lie: the guard's sums used to make the budget counter itself a table, whose __add then spun inside the hook; a length must be an integer, as C requires
-- budget: timeout=0.5

function attack()
  local bad
  bad = setmetatable({}, {
    __le = function() return true end, __lt = function() return false end,
    __sub = function() return bad end, __div = function() return bad end,
    __mul = function() return bad end,
    __add = function(a, b) if b == 1000 then while true do end end return bad end,
  })
  local t = setmetatable({}, {__len = function() return bad end})
  for _, f in ipairs({table.insert, table.remove, table.concat, table.unpack, table.sort}) do
    pcall(f, t, 1, "x")
  end
  for i = 1, 1e12 do end
end
