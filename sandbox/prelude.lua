-- The sandbox prelude: trusted code run once in each fresh plugin runtime, before the script.
--
-- It captures the standard library in locals, builds the script's environment from the
-- allow-list handed in by the host (sandbox/allowlist.py), arms the budgets, and returns the
-- driver functions the host calls. Script code only ever runs inside a coroutine that carries
-- the budget hook; the driver itself runs on the main thread, without a hook, and touches
-- script values only with raw operations, so no metamethod of the script runs outside a budget.

local _G = _G
local type, next, select, error, tostring = type, next, select, error, tostring
local rawget, rawset, rawlen, rawequal = rawget, rawset, rawlen, rawequal
local setmetatable, getmetatable, pcall = setmetatable, getmetatable, pcall
local co_create, co_resume, co_yield, co_status, co_close, co_running =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.status, coroutine.close,
  coroutine.running
local sethook, getinfo = debug.sethook, debug.getinfo
local clock = os.clock
local gcount = function() return collectgarbage("count") end
local s_byte, s_char, s_sub, s_find, s_match, s_gmatch, s_gsub, s_rep, s_format =
  string.byte, string.char, string.sub, string.find, string.match, string.gmatch, string.gsub,
  string.rep, string.format
local t_concat, t_unpack, t_pack, t_move, t_sort, t_insert, t_remove =
  table.concat, table.unpack, table.pack, table.move, table.sort, table.insert, table.remove
local math_type, floor, log, maxinteger = math.type, math.floor, math.log, math.maxinteger
local utf8_len, utf8_codepoint = utf8.len, utf8.codepoint
local lua_load = load

local MEMERR = "not enough memory"
local HOST = {}          -- marks a yield that carries a host call; never reachable by scripts
local STEP = 1000        -- instructions between two budget checks
local STEPS_PER_INSTRUCTION = 8  -- C work (bytes compared, pattern steps) per charged instruction

-- The host passes two callbacks that move the Lua heap cap: low while the script runs, high
-- (with headroom) while trusted code builds or flattens values, so that the host's own pushes
-- can never fail an allocation outside a protected call (which would abort the process).
return function(lower_cap, raise_cap, seed, shape, ...)

-- Budget state of the call in progress. One call runs per runtime at a time.
local cur = {count = 0, limit = 0, tleft = 0, tlimit = 0, used = 0, memlimit = 0, dead = false}
local seg_start = false   -- CPU clock when the running segment of the call began
local chunk_source = "=?"
local LIMITS               -- crossing limits, set from the config below

-- file:line of the innermost frame of the script on thread `co` (or the running thread)
local function script_where(co)
  for level = (co and 0 or 1), 200 do
    local info
    if co then info = getinfo(co, level, "Sl") else info = getinfo(level, "Sl") end
    if not info then return nil end
    if info.source == chunk_source and (info.currentline or -1) >= 0 then
      return info.short_src .. ":" .. info.currentline
    end
  end
end

local function dead_hook()
  error(cur.msg, 0)
end

-- Ends the call: from here on the running coroutine's hook fires on every instruction and
-- raises again, and every guarded catcher re-raises, so nothing the script does can swallow it.
-- It may run at the C-stack limit, where any C call fails: mark the call dead first.
local function die(kind, msg)
  if not cur.dead then
    cur.dead, cur.msg = kind, msg
    local ok, where = pcall(script_where, nil)
    if ok then cur.where = where end
  end
  pcall(sethook, dead_hook, "", 1)
  error(cur.msg, 0)
end

-- CPU seconds of the running segment. The clock (a system call) is first read by the first
-- budget check, 1000 instructions in, rather than at every resume.
local function elapsed()
  if not seg_start then seg_start = clock(); return 0 end
  return clock() - seg_start
end

local function hook()
  local c = cur
  local n = c.count + STEP
  c.count = n
  if n > c.limit then
    die("instructions", s_format("instruction budget exceeded (%d instructions)", c.limit))
  end
  if elapsed() > c.tleft then
    die("timeout", s_format("time budget exceeded (%g s)", c.tlimit))
  end
end

local function forbidden(what)
  die("forbidden", what .. " is not available in the sandbox")
end

-- Charges `n` instructions of work done in C; refuses before the work if it would not fit.
local function charge(n, what)
  local c = cur
  if c.dead then error(c.msg, 0) end
  if n > c.limit - c.count then
    die("instructions", s_format("%s would exceed the instruction budget (estimated %.0f instructions, %.0f left)",
      what, n, c.limit - c.count))
  end
  c.count = c.count + n
end

local function need_memory(bytes, what)
  local left = cur.memlimit - gcount() * 1024
  if bytes > left then
    die("memory", s_format("%s would exceed the memory budget (%.0f bytes asked, %.0f left)", what, bytes, left))
  end
end

---------------------------------------------------------------------------------------------
-- Values crossing the boundary: built and flattened by this code only, as a shape string
-- (one letter per value) and a flat list of scalars.
--   v: next scalar  n: nil  t: true  f: false  a: array (count, then items)  m: map (count,
--   then key and value per entry)

-- Building and flattening never run script code and never re-enter, so their state lives in
-- upvalues rather than in closures made per call.
local B_shape, B_vals, B_sp, B_vp

local function build_one()
  local c = s_byte(B_shape, B_sp); B_sp = B_sp + 1
  if c == 118 then local v = B_vals[B_vp]; B_vp = B_vp + 1; return v      -- v
  elseif c == 97 then                                                     -- a
    local n = B_vals[B_vp]; B_vp = B_vp + 1
    local t = {}
    for i = 1, n do t[i] = build_one() end
    return t
  elseif c == 109 then                                                    -- m
    local n = B_vals[B_vp]; B_vp = B_vp + 1
    local t = {}
    for _ = 1, n do local k = B_vals[B_vp]; B_vp = B_vp + 1; t[k] = build_one() end
    return t
  elseif c == 116 then return true elseif c == 102 then return false
  else return nil end
end

-- The values described by `shape`, whose scalars start at vals[first].
local function build_values(shape, vals, first)
  B_shape, B_vals, B_sp, B_vp = shape, vals, 1, first
  local out, n, len = {}, 0, #shape
  while B_sp <= len do n = n + 1; out[n] = build_one() end
  B_vals = nil
  return out, n
end

local F_shape, F_out, F_ns, F_no, F_bytes, F_path, F_seen

local function f_where(depth)
  local parts = {}
  for d = 1, depth do
    local k = F_path[d]
    parts[d] = type(k) == "string" and s_format("%q", k) or tostring(k)
  end
  return "[" .. t_concat(parts, "][") .. "]"
end

local function f_scalar(v, depth)
  local no = F_no + 1
  F_no = no
  if no > LIMITS.values then error(s_format("more than %d values", LIMITS.values), 0) end
  if type(v) == "string" then
    F_bytes = F_bytes + #v
    if F_bytes > LIMITS.bytes then error(s_format("more than %d bytes of strings", LIMITS.bytes), 0) end
    if not utf8_len(v) then error(f_where(depth) .. ": string is not valid UTF-8", 0) end
  end
  F_out[no] = v
end

local function f_value(v, depth)
  local tv = type(v)
  local ns = F_ns + 1
  F_ns = ns
  if tv == "string" or tv == "number" then F_shape[ns] = "v"; f_scalar(v, depth)
  elseif tv == "boolean" then F_shape[ns] = v and "t" or "f"
  elseif tv == "nil" then F_shape[ns] = "n"
  elseif tv == "table" then
    if depth >= LIMITS.depth then error(f_where(depth) .. s_format(": nested deeper than %d", LIMITS.depth), 0) end
    if F_seen[v] then error(f_where(depth) .. ": table refers to itself (a cycle)", 0) end
    F_seen[v] = true
    local n, count, is_array = rawlen(v), 0, true
    for k in next, v do
      count = count + 1
      if is_array and not (math_type(k) == "integer" and k >= 1 and k <= n) then is_array = false end
      if count > LIMITS.values then error(s_format("more than %d values", LIMITS.values), 0) end
    end
    if is_array and count == n and n > 0 then
      F_shape[ns] = "a"; f_scalar(n, depth)
      for idx = 1, n do F_path[depth + 1] = idx; f_value(rawget(v, idx), depth + 1) end
    else
      F_shape[ns] = "m"; f_scalar(count, depth)
      for k, item in next, v do
        if type(k) ~= "string" and math_type(k) ~= "integer" then
          error(f_where(depth) .. ": table key of type " .. (math_type(k) or type(k)) ..
                " cannot cross (use strings or integers)", 0)
        end
        f_scalar(k, depth)
        F_path[depth + 1] = k
        f_value(item, depth + 1)
      end
    end
    F_seen[v] = nil
  else
    error(f_where(depth) .. ": a " .. tv .. " cannot cross the sandbox boundary", 0)
  end
end

-- Flattens r[i..j] as a list of values: returns the shape, the scalars and their count.
-- Raises a string naming the path of the first value that cannot cross.
local function flatten(r, i, j)
  F_shape, F_out, F_ns, F_no, F_bytes, F_path, F_seen = {}, {}, 0, 0, 0, {}, {}
  for idx = i, j do F_path[1] = idx - i + 1; f_value(r[idx], 1) end
  local shape, out, no = t_concat(F_shape, "", 1, F_ns), F_out, F_no
  F_shape, F_out, F_path, F_seen = nil, nil, nil, nil
  return shape, out, no
end

local function safe_text(s)
  if type(s) ~= "string" then
    if math_type(s) then return tostring(s) end
    return "error object is a " .. type(s) .. " value"
  end
  if #s > 2000 then s = s_sub(s, 1, 2000) .. "..." end
  if not utf8_len(s) then s = s_gsub(s, "[\128-\255]", "?") end
  return s
end

---------------------------------------------------------------------------------------------
-- Setup: the allow-list, seed and limits come from the host as plain data.

local config = build_values(shape, t_pack(...), 1)[1]
LIMITS = config.limits
math.randomseed(seed)

local env = {}
local sealed = setmetatable({}, {__mode = "k"})     -- read-only tables (libraries, host namespaces)
local protected = setmetatable({}, {__mode = "k"})  -- tables whose metatable is the sandbox's
local denied = {}
for _, name in next, config.denied_globals do denied[name] = true end

-- print: captured into the call's log, capped.
local log_lines, log_n, log_bytes, log_dropped = {}, 0, 0, 0
local function print_(...)
  local n = select("#", ...)
  local parts = {}
  for idx = 1, n do parts[idx] = tostring((select(idx, ...))) end
  local line = t_concat(parts, "\t")
  if log_n >= LIMITS.log_lines or log_bytes + #line > LIMITS.log_bytes then
    log_dropped = log_dropped + 1
    return
  end
  log_n = log_n + 1; log_lines[log_n] = line; log_bytes = log_bytes + #line
end
local function take_log()
  if log_n == 0 and log_dropped == 0 then return nil end
  local text = t_concat(log_lines, "\n", 1, log_n)
  if log_dropped > 0 then text = text .. s_format("\n(%d more lines dropped)", log_dropped) end
  log_lines, log_n, log_bytes, log_dropped = {}, 0, 0, 0
  return safe_text(text)
end

-- Catchers: pcall, xpcall, coroutine.resume/wrap/close. Each re-raises a dead call, and turns
-- a memory error it would have swallowed into the end of the call.
-- Catchers nest at most MAX_CATCH_DEPTH deep. Near Lua's C-stack limit the budget hook
-- cannot even be called (calling it overflows), and a script that recurses through pcall
-- there does exponential work nothing can interrupt; stopping the nesting well before the
-- limit closes that hole. Each caught error is also charged and the clock checked.
local MAX_CATCH_DEPTH = 100
local CATCH_COST = 16
local catch_depth = 0

local function enter_catch(what)
  if catch_depth >= MAX_CATCH_DEPTH then
    die("script", s_format("%s nested deeper than %d levels", what, MAX_CATCH_DEPTH))
  end
  catch_depth = catch_depth + 1
end

local function after_catch(ok, ...)
  catch_depth = catch_depth - 1
  local c = cur
  if c.dead then error(c.msg, 0) end
  if not ok then
    if rawequal((...), MEMERR) then die("memory", "memory budget exceeded") end
    c.count = c.count + CATCH_COST
    if c.count > c.limit then
      die("instructions", s_format("instruction budget exceeded (%d instructions)", c.limit))
    end
    if elapsed() > c.tleft then
      die("timeout", s_format("time budget exceeded (%g s)", c.tlimit))
    end
  end
  return ok, ...
end

local function pcall_(f, ...)
  enter_catch("pcall")
  return after_catch(pcall(f, ...))
end

-- Lua runs xpcall's message handler with hooks off, so a looping handler would never stop:
-- emulate xpcall on the guarded pcall and run the handler as ordinary, hooked code.
local function xpcall_(f, handler, ...)
  local r = t_pack(pcall_(f, ...))
  if r[1] then return t_unpack(r, 1, r.n) end
  return after_catch(false, (select(2, pcall_(handler, r[2]))))
end

local function co_create_(f)
  local co = co_create(f)
  sethook(co, hook, "", STEP)
  return co
end

-- A host call made inside a script's own coroutine yields HOST up through every level to the
-- driver, and its answer travels back down.
local function resume_(co, ...)
  enter_catch("coroutine.resume")
  local r = t_pack(co_resume(co, ...))
  while r[1] and r[2] == HOST and co_status(co) == "suspended" do
    r = t_pack(co_resume(co, co_yield(t_unpack(r, 2, r.n))))
  end
  return after_catch(t_unpack(r, 1, r.n))
end

local function wrap_(f)
  local co = co_create_(f)
  return function(...)
    local r = t_pack(resume_(co, ...))
    if not r[1] then error(r[2], 0) end
    return t_unpack(r, 2, r.n)
  end
end

local function close_(co)
  enter_catch("coroutine.close")
  return after_catch(co_close(co))
end

local function setmetatable_(t, mt)
  if protected[t] then forbidden("setmetatable on a sandbox table") end
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then forbidden("__gc (finalizers)") end
  return setmetatable(t, mt)
end

local function rawset_(t, k, v)
  if sealed[t] then forbidden("changing a library table") end
  return rawset(t, k, v)
end

local function rawget_(t, k)
  if t == env and denied[k] then forbidden(s_format("%q", tostring(k))) end
  return rawget(t, k)
end

---------------------------------------------------------------------------------------------
-- Guards for the C functions that can run long in one call (the hook cannot reach inside).

local ALL_BYTES = {}
for b = 0, 255 do ALL_BYTES[b + 1] = s_char(b) end
ALL_BYTES = t_concat(ALL_BYTES)

local members_cache, pattern_cache, pattern_cache_n = {}, {}, 0

local function members(item)          -- the bytes a single-character class matches
  local m = members_cache[item]
  if not m then
    local parts, n = {}, 0
    for ch in s_gmatch(ALL_BYTES, item) do n = n + 1; parts[n] = ch end
    m = t_concat(parts)
    members_cache[item] = m
  end
  return m
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

-- The shape of a pattern's worst case. A quantified item (* + -) makes the matcher try every
-- length of the run it matches; when the next quantified item can match the same characters
-- (and nothing fixed in between breaks the run), the tries multiply. Returns whether the
-- pattern is anchored and its chains of such items (each item a one-character class).
-- Cached per pattern string: strategies use a handful of constant patterns.
local function pattern_shape(p)
  local cached = pattern_cache[p]
  if cached then return cached[1], cached[2] end
  local i, n, anchored = 1, #p, false
  if s_byte(p, 1) == 94 then anchored = true; i = 2 end
  local chains, chain, open = {}, nil, nil
  local function loop(item, set)
    if open and chain and s_find(open, item) then chain[#chain + 1] = item
    else chain = {item}; chains[#chains + 1] = chain end
    open = set
  end
  while i <= n do
    local c = s_byte(p, i)
    if c == 40 or c == 41 then i = i + 1                                   -- ( )
    elseif c == 36 and i == n then i = i + 1                               -- final $
    elseif c == 37 and s_byte(p, i + 1) == 98 then loop(".", ALL_BYTES); i = i + 4   -- %bxy
    elseif c == 37 and s_byte(p, i + 1) == 102 then                        -- %f[set]
      i = class_end(p, i + 2); if not i then break end
    elseif c == 37 and s_find(s_sub(p, i + 1, i + 1), "^%d") then loop(".", ALL_BYTES); i = i + 2  -- %1
    else
      local e = class_end(p, i)
      if not e then break end
      local item = s_sub(p, i, e - 1)
      local q = s_byte(p, e)
      local set = item == "." and ALL_BYTES or members(item)
      if q == 42 or q == 43 or q == 45 then loop(item, set); i = e + 1    -- * + -
      else
        if open and not s_find(open, item) then open, chain = nil, nil end  -- a fixed item ends the run
        i = (q == 63) and e + 1 or e                                       -- ?
      end
    end
  end
  if pattern_cache_n >= 256 then pattern_cache, pattern_cache_n = {}, 0 end
  pattern_cache[p] = {anchored, chains}
  pattern_cache_n = pattern_cache_n + 1
  return anchored, chains
end

local function factorial(k) local r = 1; for x = 2, k do r = r * x end; return r end

-- The longest run of characters of class `item` in s: how far one quantified item can reach.
local function longest_run(s, item)
  if item == "." then return #s end
  local best = 0
  for r in s_gmatch(s, item .. "+") do if #r > best then best = #r end end
  return best
end

-- Worst-case steps of a chain set: first assuming every run spans the subject; when that does
-- not fit the remaining budget, again with the subject's real longest runs (a linear scan).
local function pattern_steps(s, n, p, remaining)
  local anchored, chains = pattern_shape(p)
  local starts = anchored and 1 or (n + 1)
  local worst = 0
  for _, chain in next, chains do
    local c = (n + 1) ^ #chain / factorial(#chain)
    if c > worst then worst = c end
  end
  local steps = starts * worst + n * #p
  if steps / STEPS_PER_INSTRUCTION <= remaining or #chains == 0 then return steps end
  charge((#chains + 1) * n / STEPS_PER_INSTRUCTION, "pattern analysis")
  worst = 0
  for _, chain in next, chains do
    local c = 1
    for _, item in next, chain do c = c * (longest_run(s, item) + 1.0) end  -- float: no wrap-around
    c = c / factorial(#chain)
    if c > worst then worst = c end
  end
  return starts * worst + n * #p
end

local function guard_pattern(what, s, p, init, plain)
  if type(s) ~= "string" and type(s) ~= "number" then return end  -- let Lua raise its own error
  if type(p) ~= "string" and type(p) ~= "number" then return end
  s, p = tostring(s), tostring(p)
  local n = #s
  init = math_type(init) == "integer" and init or 1
  if init < 0 then init = n + init + 1 end
  if init > 1 then n = n - init + 1 end
  if n < 0 then n = 0 end
  local steps
  if plain or not s_find(p, "[%^%$%*%+%?%.%(%)%[%]%%%-]") then
    steps = n * (#p + 1)
  else
    if #p > 64 then charge(#p * 8, what) end     -- analysing a long pattern is work too
    steps = pattern_steps(s, n, p, cur.limit - cur.count)
  end
  local need = steps / STEPS_PER_INSTRUCTION
  if need > cur.limit - cur.count then charge(need, what) end
  charge(n // STEPS_PER_INSTRUCTION + 1, what)
end

local function int_or(v, default)
  return math_type(v) == "integer" and v or (math_type(v) == "float" and floor(v)) or default
end

local G = {string = {}, table = {}, utf8 = {}}

G.string.rep = function(s, n, sep)
  if (type(s) == "string" or type(s) == "number") and math_type(n) then
    n = int_or(n, 0)
    if n > 0 then
      local len = #tostring(s) * n + (sep and #tostring(sep) * (n - 1) or 0)
      need_memory(len, "string.rep")
      charge(n / STEPS_PER_INSTRUCTION + len / 64, "string.rep")
    end
  end
  return s_rep(s, n, sep)
end
G.string.find = function(s, p, init, plain)
  guard_pattern("string.find", s, p, init, plain)
  return s_find(s, p, init, plain)
end
G.string.match = function(s, p, init)
  guard_pattern("string.match", s, p, init, false)
  return s_match(s, p, init)
end
G.string.gmatch = function(s, p, init)
  guard_pattern("string.gmatch", s, p, init, false)
  return s_gmatch(s, p, init)
end
G.string.gsub = function(s, p, repl, max)
  guard_pattern("string.gsub", s, p, 1, false)
  if type(repl) == "string" and type(s) == "string" then
    need_memory(#s * (#repl + 1), "string.gsub")
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
  if type(s) == "string" then
    i = int_or(i, 1); j = int_or(j, i)
    if i < 0 then i = #s + i + 1 end
    if j < 0 then j = #s + j + 1 end
    if j > #s then j = #s end
    if j >= i then charge(j - i + 1, "string.byte") end
  end
  return s_byte(s, i, j)
end

local function count_range(i, j) return (j >= i) and (j - i + 1) or 0 end

G.table.concat = function(t, sep, i, j)
  if type(t) == "table" then
    i = int_or(i, 1); j = int_or(j, nil) or #t
    charge(count_range(i, j), "table.concat")
  end
  return t_concat(t, sep, i, j)
end
G.table.unpack = function(t, i, j)
  if type(t) == "table" then
    i = int_or(i, 1); j = int_or(j, nil) or #t
    local n = count_range(i, j)
    need_memory(n * 16, "table.unpack")
    charge(n, "table.unpack")
  end
  return t_unpack(t, i, j)
end
G.table.move = function(a1, f, e, t, a2)
  if math_type(f) and math_type(e) then charge(count_range(int_or(f, 1), int_or(e, 0)), "table.move") end
  return t_move(a1, f, e, t, a2)
end
G.table.sort = function(t, cmp)
  if type(t) == "table" then
    local n = #t
    if n > 1 then charge(n * (log(n, 2) + 1), "table.sort") end
  end
  return t_sort(t, cmp)
end
G.table.insert = function(t, ...)
  if type(t) == "table" and select("#", ...) == 2 then
    local pos = int_or((...), 1)
    charge(count_range(pos, #t), "table.insert")
  end
  return t_insert(t, ...)
end
G.table.remove = function(t, pos)
  if type(t) == "table" and pos ~= nil then charge(count_range(int_or(pos, 1), #t), "table.remove") end
  if pos == nil then return t_remove(t) end
  return t_remove(t, pos)
end
G.utf8.codepoint = function(s, i, j, lax)
  if type(s) == "string" then
    i = int_or(i, 1); j = int_or(j, i)
    if i < 0 then i = #s + i + 1 end
    if j < 0 then j = #s + j + 1 end
    charge(count_range(i, j), "utf8.codepoint")
  end
  return utf8_codepoint(s, i, j, lax)
end

---------------------------------------------------------------------------------------------
-- The script's environment.

local OVERRIDE = {
  pcall = pcall_, xpcall = xpcall_, print = print_, setmetatable = setmetatable_,
  rawset = rawset_, rawget = rawget_,
}
local OVERRIDE_LIB = {
  coroutine = {create = co_create_, resume = resume_, wrap = wrap_, close = close_},
  string = G.string, table = G.table, utf8 = G.utf8,
}

-- A read-only view of `impl`; reading a denied field is `forbidden`, writing anything is.
local function seal(label, impl, denied_fields)
  local deny = {}
  for _, f in next, denied_fields or {} do deny[f] = true end
  setmetatable(impl, {
    __index = function(_, k)
      if deny[k] then forbidden(label .. "." .. tostring(k)) end
      return nil
    end,
    __metatable = false,
  })
  local proxy = setmetatable({}, {
    __index = impl,
    __newindex = function(_, k) forbidden("changing " .. label .. "." .. tostring(k)) end,
    __pairs = function() return next, impl, nil end,
    __len = function() return 0 end,
    __metatable = false,
  })
  sealed[proxy] = true
  protected[proxy] = true
  return proxy
end

for _, name in next, config.globals do
  local v = OVERRIDE[name] or rawget(_G, name)
  if v == nil then error("allow-list names a missing global: " .. name) end
  env[name] = v
end
local string_impl
for lib, fields in next, config.libraries do
  local impl, over = {}, OVERRIDE_LIB[lib] or {}
  for _, f in next, fields do
    local v = over[f] or _G[lib][f]
    if v == nil then error("allow-list names a missing field: " .. lib .. "." .. f) end
    impl[f] = v
  end
  env[lib] = seal(lib, impl, config.denied_fields[lib])
  if lib == "string" then string_impl = impl end
end

-- Host functions: each looks synchronous to the script; it yields to the driver, which hands
-- the call to the host and resumes the script with the answer.
local function host_function(name)
  return function(...)
    local ok, fshape, out, no = pcall(flatten, t_pack(...), 1, select("#", ...))
    if cur.dead then error(cur.msg, 0) end
    if not ok then error(name .. ": argument " .. fshape, 2) end
    local r = t_pack(co_yield(HOST, name, fshape, t_unpack(out, 1, no)))
    if r[1] ~= "ok" then error(name .. ": " .. safe_text(r[2]), 2) end
    local values, n = build_values(r[2], r, 3)
    return t_unpack(values, 1, n)
  end
end
local namespaces = {}
for _, full in next, config.host do
  local ns, fn = s_match(full, "^([%a_][%w_]*)%.([%a_][%w_]*)$")
  if ns then
    namespaces[ns] = namespaces[ns] or {}
    namespaces[ns][fn] = full
  else
    env[full] = host_function(full)
  end
end
for ns, fns in next, namespaces do
  local impl = {}
  for fn, full in next, fns do impl[fn] = host_function(full) end
  env[ns] = seal(ns, impl, nil)
end

env._G = env
env._VERSION = _VERSION
local initial = {}
for k in next, env do initial[k] = true end
protected[env] = true
setmetatable(env, {
  __index = function(_, k)
    if denied[k] then forbidden(s_format("%q", tostring(k))) end
    return nil
  end,
  __metatable = false,
})

-- Method calls on strings ("x"):rep(n) go through the guarded functions; the metatable is locked.
local string_mt = getmetatable("")
string_mt.__index = string_impl
string_mt.__metatable = false

_G.python = nil

---------------------------------------------------------------------------------------------
-- The driver: what the host calls.

-- Calls run one after another in one coroutine, `runner`, which carries the budget hook; it
-- is replaced after a call that fails in it (an error unwinds it, a budget kill leaves it
-- with the every-instruction hook).
local DONE = {}
local runner, runner_idle = nil, false
local function run_loop(f, ...)
  return run_loop(co_yield(DONE, f(...)))
end

local function finish(co, ok, ...)
  raise_cap()
  local c = cur
  if c.dead then
    runner = nil
    return "err", take_log(), c.dead, c.msg, c.where
  end
  if not ok then
    runner = nil
    if rawequal((...), MEMERR) then
      return "err", take_log(), "memory", "memory budget exceeded", script_where(co)
    end
    return "err", take_log(), "script", safe_text((...)), script_where(co)
  end
  local tag = (...)
  if tag == HOST then
    if seg_start then c.used = c.used + (clock() - seg_start) end
    return "host", select(2, ...)
  end
  if tag ~= DONE then
    runner = nil
    return "err", take_log(), "script", "coroutine.yield called outside a coroutine", script_where(co)
  end
  runner_idle = true
  local n = select("#", ...)
  if n == 1 then return "ok", take_log(), "" end
  if n == 2 then
    local v = select(2, ...)
    local tv = type(v)
    if tv == "number" or (tv == "string" and #v <= LIMITS.bytes and utf8_len(v)) then
      return "ok", take_log(), "v", v
    end
  end
  local fok, fshape, out, no = pcall(flatten, t_pack(...), 2, n)
  if not fok then
    return "err", take_log(), "script", "return value " .. safe_text(fshape), nil
  end
  return "ok", take_log(), fshape, t_unpack(out, 1, no)
end

-- Runs the call until it returns, fails, or yields a host call.
local function step(...)
  local c = cur
  c.tleft = c.tlimit - c.used
  lower_cap()
  seg_start = false
  return finish(runner, co_resume(runner, ...))
end

local function begin(instructions, timeout, memlimit)
  cur = {count = 0, limit = instructions, tlimit = timeout, tleft = timeout, used = 0,
         memlimit = memlimit, dead = false}
  catch_depth = 0
  if not runner_idle then  -- none yet, or one abandoned in a host call
    runner = co_create(run_loop)
    sethook(runner, hook, "", STEP)
  end
  runner_idle = false
end

local driver = {}

-- Compiles the script (text only: bytecode is refused) and runs its chunk under the budget.
function driver.load(source, name, instructions, timeout, memlimit)
  local f, err = lua_load(source, "=" .. name, "t", env)
  if not f then return "err", nil, "script", safe_text(err), nil end
  chunk_source = "=" .. name
  begin(instructions, timeout, memlimit)
  return step(f)
end

-- Calls the script's global function `name` with arguments given as shape and scalars.
function driver.call(name, instructions, timeout, memlimit, ashape, ...)
  local f = rawget(env, name)
  if type(f) ~= "function" then
    return "err", nil, "script", "the script defines no function " .. safe_text(name), nil
  end
  begin(instructions, timeout, memlimit)
  if ashape == "" then return step(f) end
  local args, n = build_values(ashape, t_pack(...), 1)
  return step(f, t_unpack(args, 1, n))
end

-- Resumes the call suspended in a host function with the host's answer.
function driver.answer(status, ashape, ...)
  if not runner then return "err", nil, "script", "no call is waiting for a host answer", nil end
  return step(status, ashape, ...)
end

-- The names of the functions the script defined as globals (its hooks).
function driver.functions()
  local names, n = {}, 0
  for k, v in next, env do
    if type(v) == "function" and not initial[k] and type(k) == "string" then n = n + 1; names[n] = k end
  end
  t_sort(names)
  return t_concat(names, "\n")
end

-- A global the script set (e.g. its `plugin` table), flattened.
function driver.global(name)
  local ok, fshape, out, no = pcall(flatten, {rawget(env, name)}, 1, 1)
  if not ok then return "err", nil, "script", safe_text(name) .. " " .. safe_text(fshape), nil end
  return "ok", nil, fshape, t_unpack(out, 1, no)
end

return driver.load, driver.call, driver.answer, driver.functions, driver.global
end
