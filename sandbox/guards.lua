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
-- Returns a function taking the prelude's budget operations and returning the guarded
-- functions, by library.

local type, next, tostring, tonumber, select, error = type, next, tostring, tonumber, select, error
local rawget, rawlen, setmetatable = rawget, rawlen, setmetatable
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
local CHEAP <const> = 4096               -- pattern steps charged as estimated without looking closer
local DP_CELLS <const> = 400000          -- the largest exact pattern count worth running (items x bytes)
local DATE_PER_BYTE <const> = 4          -- os.date: a strftime per 2 bytes of format, up to ~250 ns each
local SET_BYTES_PER_STEP <const> = 8     -- bytes of a [set] scanned in the time of one pattern step (~10 measured)

-- charge(n, what, work): count n instructions, or end the call if they do not fit; `work`
-- (default n) is the estimated C work, looked at against the time left;
-- need_memory(bytes, what): end the call if the heap cannot grow by bytes;
-- remaining(): instructions left in the call's budget; call_serial(): which call is running.
return function(charge, need_memory, remaining, call_serial)

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

---------------------------------------------------------------------------------------------
-- Patterns. The matcher backtracks: each quantified item (* + - ?) tries every length it can
-- match, and the tries of different items multiply. The work is bounded in up to three steps,
-- each tighter and dearer than the one before: every run spans the subject; every item's run
-- is the subject's longest run of its class; the exact count of the matcher's tries over the
-- subject (DP over item and position), only when the bound before would refuse the call.

local ALL_BYTES = {}
for b = 0, 255 do ALL_BYTES[b + 1] = s_char(b) end
ALL_BYTES = t_concat(ALL_BYTES)

local members_cache, shape_cache, shape_cache_n = {}, {[true] = {}, [false] = {}}, 0

-- The pattern steps one test of a byte against a single-character class takes: a [set] is
-- scanned byte by byte (a 30 KB set tested 300 x 300 / 2 times was 0.8 s of one find), the
-- others are a step each.
local function test_cost(item)
  if s_byte(item, 1) ~= 91 then return 1 end
  return 1 + #item // SET_BYTES_PER_STEP
end

-- The bytes a single-character class matches, and a lookup table of them: a scan of all 256
-- bytes, each tested against the class, charged to `what` when it is not known yet.
local function members(item, what)
  local m = members_cache[item]
  if not m then
    charge(256 * test_cost(item) / STEPS_PER_INSTRUCTION, what)
    local parts, set, n = {}, {}, 0
    if item == "$" then parts[1] = "$"; n = 1        -- a literal '$' (not at the end)
    else
      for ch in s_gmatch(ALL_BYTES, item) do n = n + 1; parts[n] = ch end
    end
    for idx = 1, n do set[s_byte(parts[idx])] = true end
    m = {t_concat(parts), set}
    members_cache[item] = m
  end
  return m[1], m[2]
end

local function class_end(p, i)        -- mirrors lstrlib.c's classEnd
  local c = s_byte(p, i)
  if c == 37 then return i + 2 end    -- %x
  if c == 91 then                     -- [set]
    local j = i + 1
    if s_byte(p, j) == 94 then j = j + 1 end
    repeat
      if j > #p then return nil end
      local cc = s_byte(p, j); j = j + 1
      if cc == 37 then j = j + 1 end
    until s_byte(p, j) == 93
    return j + 1
  end
  return i + 1
end

-- The pattern as a list of items: {kind, item, set} with kind "fixed", "loop" (* - +; %b and
-- back-references, which can span any bytes, count as loops over any byte), "plus" or "opt";
-- zero-width parts (captures, %f, a final $) are left out. Whether it is anchored (a leading ^
-- is an anchor in find, match and gsub, a plain character in gmatch), and `cost`: the steps of
-- the dearest test of a byte in it (a frontier's set too), which every try may be. Cached per
-- pattern; working out the classes' members is charged to `what`.
local function pattern_shape(what, p, can_anchor)
  local cached = shape_cache[can_anchor][p]
  if cached then return cached end
  local items, k, nq, nopt, cost = {}, 0, 0, 0, 1
  local i, n, anchored = 1, #p, false
  if can_anchor and s_byte(p, 1) == 94 then anchored = true; i = 2 end
  while i <= n do
    local c = s_byte(p, i)
    if c == 40 or c == 41 then i = i + 1                                   -- ( ) ()
    elseif c == 36 and i == n then i = i + 1                               -- final $
    elseif c == 37 and s_byte(p, i + 1) == 98 then                         -- %bxy
      k = k + 1; nq = nq + 1; items[k] = {"loop", ".", nil}; i = i + 4
    elseif c == 37 and s_byte(p, i + 1) == 102 then                        -- %f[set]
      local e = class_end(p, i + 2); if not e then break end
      local fc = test_cost(s_sub(p, i + 2, e - 1))
      if fc > cost then cost = fc end
      i = e
    elseif c == 37 and s_find(s_sub(p, i + 1, i + 1), "^%d") then          -- %1
      k = k + 1; nq = nq + 1; items[k] = {"loop", ".", nil}; i = i + 2
    else
      local e = class_end(p, i)
      if not e or e > n + 1 then break end
      local item = s_sub(p, i, e - 1)
      local q = s_byte(p, e)
      local kind = "fixed"
      if q == 42 or q == 45 then kind = "loop"                             -- * -
      elseif q == 43 then kind = "plus"                                    -- +
      elseif q == 63 then kind = "opt" end                                 -- ?
      k = k + 1
      items[k] = {kind, item, nil}
      if kind == "fixed" then i = e else nq = nq + 1; i = e + 1 end
      if kind == "opt" then nopt = nopt + 1 end
    end
  end
  for idx = 1, k do
    local it = items[idx]
    if it[2] ~= "." then
      local _, set = members(it[2], what); it[3] = set
      local ic = test_cost(it[2])
      if ic > cost then cost = ic end
    end
  end
  cached = {items = items, k = k, nq = nq, nloops = nq - nopt, nopt = nopt, anchored = anchored, cost = cost}
  if shape_cache_n >= 256 then shape_cache, shape_cache_n = {[true] = {}, [false] = {}}, 0 end
  shape_cache[can_anchor][p] = cached
  shape_cache_n = shape_cache_n + 1
  return cached
end

-- Ways a run of `m` loop items of one class can share `L` characters: C(L + m, m), in floats.
local function shares(L, m)
  if m == 1 then return L + 1.0 end
  local r = 1.0
  for j = 1, m do r = r * (L + j) / j end
  return r
end

-- An upper bound of the matcher's tries from one start: item i is tried once per way the items
-- before it can have matched, and each quantified item takes at most run + 1 lengths (adjacent
-- items of one class share a run), an optional item 2. The run of an item is runs[class], the
-- longest run of its class in the subject, or n (the whole subject) without `runs`.
local function tries_bound(sh, runs, n)
  local items, total, ways, idx = sh.items, 1.0, 1.0, 1
  while idx <= sh.k do
    local it = items[idx]
    local kind = it[1]
    local m = 1
    if kind == "opt" then ways = ways * 2
    elseif kind ~= "fixed" then
      while idx + m <= sh.k and items[idx + m][1] ~= "fixed" and items[idx + m][1] ~= "opt"
            and items[idx + m][2] == it[2] do m = m + 1 end
      ways = ways * shares(runs and runs[it[2]] or n, m)
    end
    total = total + ways * m
    idx = idx + m
  end
  return total
end

-- The matcher's tries counted over the subject: paths[pos] is how many ways the items so far
-- can have reached byte pos (from any start), and each item moves them on. Loops and back-
-- references are counted as if they could match any run of their class (an upper bound).
local function tries_exact(sh, s, first, n, limit)
  local bytes = {}
  for b = 1, n, 4096 do                                   -- the subject's bytes, in slices
    local last = b + 4095
    if last > n then last = n end
    local slice = {s_byte(s, first + b - 1, first + last - 1)}
    for j = 1, #slice do bytes[b + j - 1] = slice[j] end
  end
  local paths, total = {}, 0.0
  for pos = 1, n + 1 do paths[pos] = 0.0 end
  if sh.anchored then paths[1] = 1.0 else for pos = 1, n + 1 do paths[pos] = 1.0 end end
  for idx = 1, sh.k do
    local it = sh.items[idx]
    local kind, set = it[1], it[3]
    local out, acc = {}, 0.0
    for pos = 1, n + 1 do
      local here = paths[pos]
      total = total + here
      local prev = pos > 1 and (set == nil or set[bytes[pos - 1]]) or false
      if kind == "fixed" then
        out[pos] = prev and paths[pos - 1] or 0.0
      elseif kind == "opt" then
        out[pos] = here + (prev and paths[pos - 1] or 0.0)
      elseif kind == "plus" then
        acc = prev and (acc + paths[pos - 1]) or 0.0
        out[pos] = acc
      else                                                  -- loop: any length, 0 included
        acc = (prev and acc or 0.0) + here
        out[pos] = acc
      end
    end
    if total > limit then return total end
    paths = out
  end
  for pos = 1, n + 1 do total = total + paths[pos] end
  return total
end

-- The longest run of bytes of class `item` in s: how far one quantified item can reach.
local run_patterns = {}
local function longest_run(s, item)
  if item == "." then return #s end
  local rp = run_patterns[item]
  if not rp then rp = item .. "+"; run_patterns[item] = rp end
  local best = 0
  for r in s_gmatch(s, rp) do if #r > best then best = #r end end
  return best
end

-- The runs of the last short subject looked at, by class: a strategy often matches one text
-- (an alert's) against several patterns.
local RUNS_KEEP <const> = 4096
local runs_subject, runs_cache = nil, {}

-- The longest run of each quantified item's class in s[first..first+n-1], scanned in C and
-- charged; nil when a pattern has none.
local function subject_runs(what, sh, s, first, n)
  local sub = (first == 1 and n == #s) and s or s_sub(s, first, first + n - 1)
  local runs
  if n <= RUNS_KEEP then
    if not rawequal(runs_subject, sub) then runs_subject, runs_cache = sub, {} end
    runs = runs_cache
  else
    runs = {}
  end
  local scanned = 0
  for idx = 1, sh.k do
    local it = sh.items[idx]
    local class = it[2]
    if it[1] ~= "fixed" and runs[class] == nil then
      runs[class] = longest_run(sub, class)
      scanned = scanned + test_cost(class)
    end
  end
  if scanned > 0 then charge(scanned * n / STEPS_PER_INSTRUCTION, what) end
  return runs
end

-- Worst-case pattern steps over s[first..first+n-1]: the tries, each a test of sh.cost steps
-- at most, and every start compared with the whole pattern.
local function pattern_steps(what, s, first, n, p, can_anchor)
  local sh = pattern_shape(what, p, can_anchor)
  local starts = sh.anchored and 1 or (n + 1)
  local fixed = n * #p + 1
  if sh.nq == 0 then return starts * (sh.k + 1) + fixed end
  -- every run spanning the subject: at most (k + 1) (n + 1)^loops 2^optional tries per start
  local crude = starts * (sh.k + 1.0) * (n + 1.0) ^ sh.nloops * 2.0 ^ sh.nopt * sh.cost
  if crude <= CHEAP then return crude + fixed end
  -- Every item's reach: the subject's longest run of its class.
  local bound = starts * tries_bound(sh, subject_runs(what, sh, s, first, n), n) * sh.cost + fixed
  -- Counting exactly (about 8 instructions per item and byte, run as Lua under the budget) is
  -- done only when the bound would refuse the call and the count could let it through.
  local cells = (sh.k + 1.0) * (n + 1)
  if bound / STEPS_PER_INSTRUCTION <= remaining() or cells > DP_CELLS
     or 8 * cells > remaining() then
    return bound
  end
  local exact = tries_exact(sh, s, first, n, remaining() * STEPS_PER_INSTRUCTION / sh.cost) * sh.cost + fixed
  if exact < bound then bound = exact end
  return bound
end

-- The instructions a pattern search over s from init may take, and the subject's length; nil
-- when C raises its own error or has nothing to search. Analysing the pattern is charged.
local function pattern_need(what, s, p, init, plain, can_anchor)
  local ls, lp = str_len(s), str_len(p)
  if not ls or not lp then return nil end                 -- C raises its own error
  local start = opt_int(init, 1)
  if not start then return nil end
  start = start_pos(start, ls)
  if start > ls + 1 then return nil end                   -- nothing to search
  local n = ls - start + 1
  if type(s) ~= "string" then s = tostring(s) end
  if type(p) ~= "string" then p = tostring(p) end
  local steps
  if plain or not s_find(p, "[%^%$%*%+%?%.%(%)%[%]%%%-]") then
    steps = n * (lp + 1.0) + 1
  else
    if lp > 64 then charge(lp * 8, what) end              -- analysing a long pattern is work too
    steps = pattern_steps(what, s, start, n, p, can_anchor)
  end
  return steps / STEPS_PER_INSTRUCTION, n
end

-- Charges a search of `need` instructions over a subject of n bytes, about to run. The bound
-- refuses a search that might not fit. Bounds of patterns with several quantified items are
-- loose, so the instruction count takes the linear part of the work only, and the time left
-- is checked against the whole bound.
local function pay_pattern(what, need, n)
  if need > remaining() then charge(need, what) end
  charge(n / STEPS_PER_INSTRUCTION + 1, what, need)
end

-- Charges a pattern search over s from init before it runs.
local function guard_pattern(what, s, p, init, plain, can_anchor)
  local need, n = pattern_need(what, s, p, init, plain, can_anchor)
  if need then pay_pattern(what, need, n) end
end

---------------------------------------------------------------------------------------------
-- The guarded functions.

local G = {string = {}, table = {}, utf8 = {}, os = {}}

G.string.rep = function(s, n, sep)
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
  return s_rep(s, n, sep)
end
G.string.find = function(s, p, init, plain)
  guard_pattern("string.find", s, p, init, plain, true)
  return s_find(s, p, init, plain)
end
G.string.match = function(s, p, init)
  guard_pattern("string.match", s, p, init, false, true)
  return s_match(s, p, init)
end
-- The iterator searches when it is called, maybe in a later call of the script's, or after a
-- hundred others made meanwhile: it pays the search in each call it runs in, when it first runs
-- there. Made, it is refused at once if the search could never fit.
G.string.gmatch = function(s, p, init)
  local need, n = pattern_need("string.gmatch", s, p, init, false, false)   -- a leading ^ is a character
  if not need then return s_gmatch(s, p, init) end
  if need > remaining() then charge(need, "string.gmatch") end
  local it, paid_in = s_gmatch(s, p, init), nil
  return function()
    local call = call_serial()
    if paid_in ~= call then
      paid_in = call
      pay_pattern("string.gmatch", need, n)
    end
    return it()
  end
end
G.string.gsub = function(s, p, repl, max)
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
  return s_gsub(s, p, repl, max)
end
G.string.format = function(fmt, ...)
  if type(fmt) == "string" then
    local work = #fmt
    for idx = 1, select("#", ...) do
      local a = select(idx, ...)
      if type(a) == "string" then work = work + #a end
    end
    charge(work / STEPS_PER_INSTRUCTION, "string.format")
  end
  return s_format(fmt, ...)
end
G.string.byte = function(s, i, j)
  local ls = str_len(s)
  if ls then
    local a = opt_int(i, 1)
    local b = a and opt_int(j, a)
    if a and b then charge(span(start_pos(a, ls), end_pos(b, ls)), "string.byte") end
  end
  return s_byte(s, i, j)
end

G.table.concat = function(t, sep, i, j)
  if type(t) == "table" then
    local n, meta, mt = len_of(t)
    local a, b = opt_int(i, 1), opt_int(j, n)
    if a and b then
      local d = 1
      if mt then d = chain(t, "__index") + (meta and 1 or 0) end
      charge(span(a, b) * d, "table.concat")
    end
    if meta then return t_concat(fixed_length(t, n), sep, i, j) end
  end
  return t_concat(t, sep, i, j)
end
G.table.unpack = function(t, i, j)
  local a = opt_int(i, 1)
  local b, meta
  if j == nil then b, meta = len_of(t) else b = int_arg(j) end
  if a and b then
    local n = span(a, b)
    charge(n * chain(t, "__index"), "table.unpack")
    need_memory(n * 16, "table.unpack")
    if meta then return t_unpack(t, a, b) end             -- the length paid for, explicitly
  end
  return t_unpack(t, i, j)
end
G.table.move = function(a1, f, e, t, a2)
  local from, to = int_arg(f), int_arg(e)
  if from and to then
    local dest = a2
    if dest == nil then dest = a1 end
    charge(span(from, to) * (chain(a1, "__index") + chain(dest, "__newindex") - 1), "table.move")
  end
  return t_move(a1, f, e, t, a2)
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

G.table.sort = function(t, cmp)
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
    if meta then return t_sort(fixed_length(t, n), cmp) end
  end
  return t_sort(t, cmp)
end
G.table.insert = function(t, ...)
  if type(t) == "table" and select("#", ...) == 2 then
    local n, meta, mt = len_of(t)
    local pos = int_arg((...))
    if pos then
      local d = 1
      if mt then d = chain(t, "__index") + chain(t, "__newindex") - 1 + (meta and 1 or 0) end
      charge(span(pos, n) * d, "table.insert")            -- t[pos..n] move up by one
    end
    if meta then return t_insert(fixed_length(t, n), ...) end
  end
  return t_insert(t, ...)
end
G.table.remove = function(t, pos)
  if type(t) == "table" then
    local n, meta, mt = len_of(t)
    local p = opt_int(pos, n)
    if p then
      local d = 1
      if mt then d = chain(t, "__index") + chain(t, "__newindex") - 1 + (meta and 1 or 0) end
      charge(span(p, n) * d, "table.remove")              -- t[p+1..n] move down by one
    end
    if meta then t = fixed_length(t, n) end
  end
  if pos == nil then return t_remove(t) end
  return t_remove(t, pos)
end
G.utf8.codepoint = function(s, i, j, lax)
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
  return utf8_codepoint(s, i, j, lax)
end

-- Decoding a string's characters allocates nothing and runs no instruction: charged by the
-- bytes it may walk (the whole string at worst), as the comparisons above are.
G.utf8.len = function(s, ...)
  local ls = str_len(s)
  if ls then charge(ls / STEPS_PER_INSTRUCTION, "utf8.len") end
  return utf8_len(s, ...)
end
G.utf8.offset = function(s, ...)
  local ls = str_len(s)
  if ls then charge(ls / STEPS_PER_INSTRUCTION, "utf8.offset") end
  return utf8_offset(s, ...)
end
-- os.date calls strftime once per conversion of its format: millions of them in one C call.
G.os.date = function(fmt, ...)
  local lf = str_len(fmt)
  if lf then charge(lf * DATE_PER_BYTE, "os.date") end
  return os_date(fmt, ...)
end
G.tonumber = function(v, ...)
  if type(v) == "string" then charge(#v / STEPS_PER_INSTRUCTION, "tonumber") end
  return tonumber(v, ...)
end

return G
end
