-- Guards for the C functions that can run long in one call, trusted code.
--
-- The budget hook runs between instructions and never inside a C function, so a single call
-- such as string.rep('', math.maxinteger) or a backtracking pattern would run for hours. Each
-- guarded function estimates its work before it runs: it is charged to the call's instruction
-- budget, and refused (`instructions`, `memory` for a result too large, or `timeout` when the
-- time left cannot cover it) when it would not fit. The hard deadline outside the worker
-- remains the backstop.
--
-- Every value a guard looks at comes from the script, so a guard reads it the way the C
-- function will and with raw operations only:
--   * numbers: C converts strings (" 0x10 ", "1e3") and integral floats, so the guard converts
--     them the same way and checks the converted value; anything C would refuse is passed on
--     untouched, and C raises its own error before doing any work;
--   * lengths: a table's __len metamethod is asked once, its answer must be an integer (as C
--     requires), and C is handed a stand-in whose length is that answer, so a __len that
--     answers differently the second time cannot make C loop past what was paid for;
--   * lookups: C follows an __index or __newindex chain of tables (up to 2,000 long) for each
--     element without running an instruction, so the chain's depth is part of the charge;
--   * arithmetic on estimates is done on checked numbers, in floats where it could wrap.
--
-- The pattern functions' estimate is sandbox/patterns.lua's. Returns a function taking that
-- chunk and the prelude's budget operations, and returning the guarded functions, by library.

local type, next, tostring, tonumber, select, error, xpcall = type, next, tostring, tonumber, select, error, xpcall
local rawget, rawlen, rawequal, setmetatable = rawget, rawlen, rawequal, setmetatable
local d_getmetatable, d_getinfo = debug.getmetatable, debug.getinfo
local s_byte, s_char, s_sub, s_find, s_match, s_gmatch, s_gsub, s_rep, s_format =
  string.byte, string.char, string.sub, string.find, string.match, string.gmatch, string.gsub,
  string.rep, string.format
local t_concat, t_unpack, t_move, t_sort, t_insert, t_remove =
  table.concat, table.unpack, table.move, table.sort, table.insert, table.remove
local math_type, tointeger, log, huge = math.type, math.tointeger, math.log, math.huge
local utf8_codepoint, utf8_len, utf8_offset = utf8.codepoint, utf8.len, utf8.offset
local os_date = os.date

local STEPS_PER_INSTRUCTION <const> = 8  -- C work (bytes compared, pattern steps) per charged instruction
local MAXTAGLOOP <const> = 2000          -- the longest __index/__newindex chain Lua follows (lvm.c)
local DATE_PER_BYTE <const> = 4          -- os.date: a strftime per 2 bytes of format, up to ~250 ns each

-- charge(n, what, work): count n instructions, or end the call if they do not fit; `work`
-- (default n) is the estimated C work, looked at against the time left;
-- need_memory(bytes, what): end the call if the heap cannot grow by bytes;
-- remaining(): instructions left in the call's budget; call_serial(): which call is running;
-- E and done: each C function is called as done(xpcall(f, E.name, ...)), its errors named as Lua
-- names its own (sandbox/named.lua).
return function(patterns_chunk, charge, need_memory, remaining, call_serial, E, done)

---------------------------------------------------------------------------------------------
-- Arguments as Lua's C functions read them.

-- An integer argument (luaL_checkinteger): an integer, a float with an exact integer value, or
-- a string that converts to one of those. nil when C would refuse it.
local function int_arg(v)
  local mt = math_type(v)
  if mt == "integer" then return v end
  if mt == nil then
    if type(v) ~= "string" then return nil end
    v = tonumber(v)
    if v == nil then return nil end
  end
  return tointeger(v)
end

-- An optional integer argument (luaL_optinteger): `default` when absent or nil.
local function opt_int(v, default)
  if v == nil then return default end
  return int_arg(v)
end

-- The byte length of a string argument (luaL_checklstring: a string, or a number C converts);
-- nil for anything else.
local function str_len(v)
  local t = type(v)
  if t == "string" then return #v end
  if t == "number" then return #tostring(v) end
  return nil
end

-- Positions as lstrlib.c reads them (posrelatI, getendpos).
local function start_pos(pos, len)
  if pos > 0 then return pos end
  if pos == 0 or pos < -len then return 1 end
  return len + pos + 1
end
local function end_pos(pos, len)
  if pos > len then return len end
  if pos >= 0 then return pos end
  if pos < -len then return 0 end
  return len + pos + 1
end

-- How many elements i..j holds, as a float (no wrap-around).
local function span(i, j)
  if j < i then return 0 end
  return (j + 0.0) - i + 1
end

-- The length C's luaL_len would see, asked once. Without a __len metamethod it is the raw
-- border; with one, the metamethod runs here (under the budget) and its answer must be an
-- integer, as C requires. Second result: true when it came from __len. nil for values C
-- cannot take the length of (C raises its own error).
local function len_of(t)
  local tt = type(t)
  if tt == "string" then return #t end
  local mt = d_getmetatable(t)
  if mt == nil or rawget(mt, "__len") == nil then
    if tt == "table" then return rawlen(t), false, mt end
    return nil
  end
  local n = int_arg(#t)
  if n == nil then error("object length is not an integer", 0) end
  return n, true, mt
end

-- How many tables one read ("__index") or write ("__newindex") of a missing key visits in C
-- before it finds the key, a function to call, or nothing; and that function, if any.
local function chain(t, event)
  local d = 1
  while d <= MAXTAGLOOP do
    local mt = d_getmetatable(t)
    if mt == nil then return d end
    local h = rawget(mt, event)
    local th = type(h)
    if th == "function" then return d, h end
    if th ~= "table" and th ~= "string" then return d end
    t = h
    d = d + 1
  end
  return d
end

-- Whether f is a function written in C: called from C for each element (a comparison, a
-- replacement), it keeps the whole call in C, where no hook fires.
local function in_c(f)
  return type(f) == "function" and d_getinfo(f, "S").what == "C"
end

-- A stand-in for a table whose length comes from __len: C asks the stand-in for the length and
-- gets the answer already paid for; every read and write goes through to the table, by way of
-- its own metamethods, exactly as C's own reads and writes would.
local function fixed_length(t, n)
  return setmetatable({}, {__len = function() return n end, __index = t, __newindex = t})
end

local P = patterns_chunk()(charge, remaining,
  {str_len = str_len, opt_int = opt_int, start_pos = start_pos, steps = STEPS_PER_INSTRUCTION})
local pattern_need, pay_pattern, guard_pattern = P.need, P.pay, P.guard

---------------------------------------------------------------------------------------------
-- The guarded functions.

local G = {string = {}, table = {}, utf8 = {}, os = {}}

G.string.rep = function(...)
  local s, n, sep = ...
  local ls, count = str_len(s), int_arg(n)
  if ls and count and count > 0 then
    local lsep = 0
    if sep ~= nil then lsep = str_len(sep) end
    if lsep then
      local len = (ls + 0.0) * count + (lsep + 0.0) * (count - 1)   -- floats: no wrap-around
      need_memory(len, "string.rep")
      charge(count / STEPS_PER_INSTRUCTION + len / 64, "string.rep")
    end
  end
  return done(xpcall(s_rep, E.rep, ...))
end
G.string.find = function(...)
  local s, p, init, plain = ...
  guard_pattern("string.find", s, p, init, plain, true)
  return done(xpcall(s_find, E.find, ...))
end
G.string.match = function(...)
  local s, p, init = ...
  guard_pattern("string.match", s, p, init, false, true)
  return done(xpcall(s_match, E.match, ...))
end
-- The iterator searches when it is called, maybe in a later call of the script's, or after a
-- hundred others made meanwhile: it pays the search in each call it runs in, when it first runs
-- there. Made, it is refused at once if the search could never fit.
G.string.gmatch = function(...)
  local s, p, init = ...
  local need, n = pattern_need("string.gmatch", s, p, init, false, false)   -- a leading ^ is a character
  if not need then return done(xpcall(s_gmatch, E.gmatch, ...)) end
  if need > remaining() then charge(need, "string.gmatch") end
  local it, paid_in = done(xpcall(s_gmatch, E.gmatch, ...)), nil
  return function()
    local call = call_serial()
    if paid_in ~= call then
      paid_in = call
      pay_pattern("string.gmatch", need, n)
    end
    return done(xpcall(it, E.gmatch))
  end
end
G.string.gsub = function(...)
  local s, p, repl = ...
  guard_pattern("string.gsub", s, p, nil, false, true)
  local ls, lr = str_len(s), str_len(repl)
  if ls then
    if lr then
      need_memory((ls + 0.0) * (lr + 1), "string.gsub")
    elseif type(repl) == "table" then
      -- each match looks its replacement up, through the table's __index chain
      local d, handler = chain(repl, "__index")
      if d > 1 then charge((ls + 1.0) * d / STEPS_PER_INSTRUCTION, "string.gsub") end
      if in_c(handler) then
        local t = repl                        -- looked up from Lua, as gsub looks it up: hooked
        repl = function(k) return t[k] end
      end
    elseif in_c(repl) then
      -- a library function as the replacement (3 MB of matches: 0.3 s) would run unhooked
      local f = repl
      repl = function(...) return f(...) end
    end
  end
  if not rawequal(repl, (select(3, ...))) then return done(xpcall(s_gsub, E.gsub, s, p, repl, select(4, ...))) end
  return done(xpcall(s_gsub, E.gsub, ...))
end
G.string.format = function(...)
  local fmt = ...
  if type(fmt) == "string" then
    local work = #fmt
    for idx = 2, select("#", ...) do
      local a = select(idx, ...)
      if type(a) == "string" then work = work + #a end
    end
    charge(work / STEPS_PER_INSTRUCTION, "string.format")
  end
  return done(xpcall(s_format, E.format, ...))
end
G.string.byte = function(...)
  local s, i, j = ...
  local ls = str_len(s)
  if ls then
    local a = opt_int(i, 1)
    local b = a and opt_int(j, a)
    if a and b then charge(span(start_pos(a, ls), end_pos(b, ls)), "string.byte") end
  end
  return done(xpcall(s_byte, E.byte, ...))
end

G.table.concat = function(...)
  local t, sep, i, j = ...
  if type(t) == "table" then
    local n, meta, mt = len_of(t)
    local a, b = opt_int(i, 1), opt_int(j, n)
    if a and b then
      local d = 1
      if mt then d = chain(t, "__index") + (meta and 1 or 0) end
      charge(span(a, b) * d, "table.concat")
    end
    if meta then return done(xpcall(t_concat, E.concat, fixed_length(t, n), select(2, ...))) end
  end
  return done(xpcall(t_concat, E.concat, ...))
end
G.table.unpack = function(...)
  local t, i, j = ...
  local a = opt_int(i, 1)
  local b, meta
  if j == nil then b, meta = len_of(t) else b = int_arg(j) end
  if a and b then
    local n = span(a, b)
    charge(n * chain(t, "__index"), "table.unpack")
    need_memory(n * 16, "table.unpack")
    if meta then return done(xpcall(t_unpack, E.unpack, t, a, b)) end   -- the length paid for, explicitly
  end
  return done(xpcall(t_unpack, E.unpack, ...))
end
G.table.move = function(...)
  local a1, f, e, _, a2 = ...
  local from, to = int_arg(f), int_arg(e)
  if from and to then
    local dest = a2
    if dest == nil then dest = a1 end
    charge(span(from, to) * (chain(a1, "__index") + chain(dest, "__newindex") - 1), "table.move")
  end
  return done(xpcall(t_move, E.move, ...))
end

-- The default comparison, as Lua code: each comparison runs under the hook.
local function less(a, b) return a < b end

-- The longest string among t[1..n] (read as C reads them), and whether every element is a
-- number or a string (compared in C without running any script code).
local function scan_strings(t, n)
  local longest, plain = 0, true
  for idx = 1, n do
    local v = t[idx]
    local tv = type(v)
    if tv == "string" then
      local l = #v
      if l > longest then longest = l end
    elseif tv ~= "number" then plain = false end
  end
  return longest, plain
end

G.table.sort = function(...)
  local t, cmp = ...
  if type(t) == "table" then
    local n, meta, mt = len_of(t)
    if n > 1 then
      local per = 1
      if mt then per = chain(t, "__index") + chain(t, "__newindex") - 1 + (meta and 1 or 0) end
      local comparisons = n * (log(n, 2) + 1)
      charge(comparisons * per, "table.sort")
      if cmp == nil then
        -- Strings compare byte by byte in C (a whole string when two are equal). Elements that
        -- are neither numbers nor strings compare through metamethods, which could change
        -- the elements under C's feet: then every comparison goes through Lua.
        local longest, plain = scan_strings(t, n)
        if longest > 0 then charge(comparisons * longest / STEPS_PER_INSTRUCTION, "table.sort") end
        if not plain then cmp = less end
      elseif in_c(cmp) then
        -- a library function as the comparator would keep the whole sort in C, unhooked
        local f = cmp
        cmp = function(a, b) return f(a, b) end
      end
    end
    if meta then return done(xpcall(t_sort, E.sort, fixed_length(t, n), cmp)) end
  end
  if not rawequal(cmp, (select(2, ...))) then return done(xpcall(t_sort, E.sort, t, cmp)) end
  return done(xpcall(t_sort, E.sort, ...))
end
G.table.insert = function(...)
  local t = ...
  if type(t) == "table" and select("#", ...) == 3 then
    local n, meta, mt = len_of(t)
    local pos = int_arg((select(2, ...)))
    if pos then
      local d = 1
      if mt then d = chain(t, "__index") + chain(t, "__newindex") - 1 + (meta and 1 or 0) end
      charge(span(pos, n) * d, "table.insert")            -- t[pos..n] move up by one
    end
    if meta then return done(xpcall(t_insert, E.insert, fixed_length(t, n), select(2, ...))) end
  end
  return done(xpcall(t_insert, E.insert, ...))
end
G.table.remove = function(...)
  local t, pos = ...
  if type(t) == "table" then
    local n, meta, mt = len_of(t)
    local p = opt_int(pos, n)
    if p then
      local d = 1
      if mt then d = chain(t, "__index") + chain(t, "__newindex") - 1 + (meta and 1 or 0) end
      charge(span(p, n) * d, "table.remove")              -- t[p+1..n] move down by one
    end
    if meta then return done(xpcall(t_remove, E.remove, fixed_length(t, n), select(2, ...))) end
  end
  return done(xpcall(t_remove, E.remove, ...))
end
G.utf8.codepoint = function(...)
  local s, i, j = ...
  local ls = str_len(s)
  if ls then
    local a = opt_int(i, 1)
    local b = a and opt_int(j, a)
    if a and b then
      -- lutf8lib.c's u_posrelat; C then refuses positions outside 1..len
      if a < 0 then a = (-a > ls) and 0 or ls + a + 1 end
      if b < 0 then b = (-b > ls) and 0 or ls + b + 1 end
      if a < 1 then a = 1 end
      if b > ls then b = ls end
      charge(span(a, b), "utf8.codepoint")
    end
  end
  return done(xpcall(utf8_codepoint, E.codepoint, ...))
end

-- Decoding a string's characters allocates nothing and runs no instruction: charged by the
-- bytes it may walk (the whole string at worst), as the comparisons above are.
G.utf8.len = function(...)
  local s = ...
  local ls = str_len(s)
  if ls then charge(ls / STEPS_PER_INSTRUCTION, "utf8.len") end
  return done(xpcall(utf8_len, E.len, ...))
end
G.utf8.offset = function(...)
  local s = ...
  local ls = str_len(s)
  if ls then charge(ls / STEPS_PER_INSTRUCTION, "utf8.offset") end
  return done(xpcall(utf8_offset, E.offset, ...))
end
-- os.date calls strftime once per conversion of its format: millions of them in one C call.
G.os.date = function(...)
  local fmt = ...
  local lf = str_len(fmt)
  if lf then charge(lf * DATE_PER_BYTE, "os.date") end
  return done(xpcall(os_date, E.date, ...))
end
G.tonumber = function(...)
  local v = ...
  if type(v) == "string" then charge(#v / STEPS_PER_INSTRUCTION, "tonumber") end
  return done(xpcall(tonumber, E.tonumber, ...))
end

return G
end
