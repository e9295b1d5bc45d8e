-- The sandbox prelude: trusted code run once in each fresh plugin runtime, before the script.
--
-- It captures the standard library in locals, builds the script's environment from the
-- allow-list handed in by the host (sandbox/allowlist.py), arms the budgets, and returns the
-- driver functions the host calls. Script code only ever runs inside a coroutine that carries
-- the budget hook; the driver itself runs on the main thread, without a hook, and touches
-- script values only with raw operations, so no metamethod of the script runs outside a budget.
--
-- Rules for trusted code that touches a value the script controls (what a call yields or
-- returns, keys, error objects, arguments of guarded functions): compare with rawequal, read
-- with rawget/rawlen/next, never concatenate, tostring or do arithmetic on it before checking
-- its type (math.type for numbers), and name it in messages through keytext/safe_text. The
-- private markers (HOST, DONE) are never handed to script code, not even as a metamethod's
-- argument.

local _G = _G
local type, next, select, error, tostring = type, next, select, error, tostring
local rawget, rawset, rawequal = rawget, rawset, rawequal
local setmetatable, getmetatable, pcall, xpcall = setmetatable, getmetatable, pcall, xpcall
local co_create, co_resume, co_yield, co_status, co_close, co_running =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.status, coroutine.close,
  coroutine.running
local sethook, getinfo = debug.sethook, debug.getinfo
local clock = os.clock
local collectgarbage = collectgarbage
local s_match, s_format, s_find, s_sub, s_gsub = string.match, string.format, string.find, string.sub, string.gsub
local math_type, floor = math.type, math.floor
local t_concat, t_unpack, t_pack, t_sort = table.concat, table.unpack, table.pack, table.sort
local utf8_len = utf8.len
local lua_load = load

local MEMERR <const> = "not enough memory"
local HOST = {}          -- marks a yield that carries a host call; never reachable by scripts
local STEP <const> = 1000        -- instructions between two budget checks, at most
-- The time one interval between two checks may take depends on what its instructions touch:
-- comparing two long strings, scanning a sparse table or copying a string is one instruction
-- whose cost grows with the heap, and near the memory cap every allocation can be a full
-- collection. So the interval shrinks as the heap grows (see step_for_heap; measured: comparing
-- two 12 MB strings about 0.5 ms, a full collection of 17 MB of small tables 18 ms), keeping
-- an interval within a third of the margin between the time budget and the worker's hard
-- deadline.
local SCAN_SECONDS <const> = 0.05e-9   -- per heap byte: the dearest instruction that allocates nothing
-- Charged work (guarded C calls) between two looks at the clock, and a pessimistic C time per
-- charged instruction (8 bytes compared or pattern steps, or one element moved or compared).
local CHARGE_CHECK <const> = 50000
local SECONDS_PER_CHARGED <const> = 5e-8
local PIECE <const> = 2048       -- bytes of source handed to the parser between two looks at the clock

-- values_chunk, guards_chunk, walk_chunk, patterns_chunk and named_chunk are sandbox/values.lua,
-- guards.lua, walk.lua, patterns.lua and named.lua, compiled. What stays here (the budget's state
-- and hook, the catchers, the driver) shares the call's budget state as upvalues, read at every hook and guarded call:
-- split further, each read would be a table lookup on the hot path, so this file runs long.
return function(values_chunk, guards_chunk, walk_chunk, patterns_chunk, named_chunk, seed, shape, ...)

local V = values_chunk()
local build_values, flatten, safe_text = V.build, V.flatten, V.safe_text

-- Budget state of the call in progress. One call runs per runtime at a time.
local cur = {serial = 0, count = 0, limit = 0, tleft = 0, tlimit = 0, used = 0, memlimit = 0, dead = false,
             charged = 0, hosted = false}
-- The plugin's budget, the same for each of its calls (see driver.budget).
local B_instructions, B_timeout, B_memlimit, B_check_every = 0, 0, 0, 0.005
-- lower_cap and raise_cap move the Lua heap cap: low while the script runs, high (with
-- headroom) while trusted code builds or flattens values, so that the host's own pushes can
-- never fail an allocation outside a protected call (which would abort the process).
local lower_cap, raise_cap
local seg_start = false   -- CPU clock when the running segment of the call began
local last_check = false  -- CPU clock at the last budget check of the segment
local in_call = false     -- script code may be running (between a resume and its finish)
local hook_every = STEP         -- the current interval between two checks (see step_for_heap)
local check_every = 0.025 -- seconds one interval may take at worst (set per call from the margin)
local base_heap = 0       -- bytes of the runtime before the script (set at the end of setup)
-- The hook interval each thread of the call was last given (weak: threads come and go).
local thread_step = setmetatable({}, {__mode = "k"})
local chunk_source = "=?"
local LIMITS               -- crossing and log limits, set from the config below

-- A key or value the script chose, named in a message without running any of its metamethods
-- and without bytes that could not cross to the host.
local function keytext(k)
  if type(k) == "string" then return safe_text(k) end
  if math_type(k) then return tostring(k) end
  return "(a " .. type(k) .. ")"
end

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
  return nil
end

local function dead_hook()
  error(cur.msg, 0)
end

-- Ends the call: from here on the running coroutine's hook fires on every instruction and
-- raises again, and every guarded catcher re-raises, so nothing the script does can swallow it.
-- It may run at the C-stack limit, where any C call fails: mark the call dead first.
local function die(kind, msg)
  if not cur.dead then cur.dead, cur.msg = kind, safe_text(msg) end
  -- The script's line, looked for with the count hook off. The hook can still fire in here before
  -- it is off (every few instructions on a big heap) and end the call again: that die looks then.
  if cur.where == nil then
    pcall(sethook)
    local ok, where = pcall(script_where, nil)
    if ok then cur.where = where end
  end
  pcall(sethook, dead_hook, "", 1)
  error(cur.msg, 0)
end

-- CPU seconds of the running segment. The clock (a system call) is first read by the first
-- budget check, 1000 instructions in, rather than at every resume.
local function elapsed()
  local now = clock()
  last_check = now
  if not seg_start then seg_start = now; return 0 end
  return now - seg_start
end

-- What a full collection costs (CPU seconds), measured on a heap of gc_live bytes of the
-- script's. Measured again when the heap has doubled since (or halved). gc_spent: the time
-- measuring took, for a measurement made before the call's clock starts (see begin).
local gc_cost, gc_live, gc_spent = 0, 0, 0

-- The hook interval for the heap as it is now: the dearest instruction costs about
-- SCAN_SECONDS per heap byte, and once the heap holds a third of the cap or more, an
-- allocation can also cost a full collection, every time (at the cap, Lua collects before
-- each allocation that does not fit). What a collection costs depends on what the heap holds
-- (small tables are dear, strings cheap), so it is measured.
local function step_for_heap()
  local h = collectgarbage("count") * 1024 - base_heap
  if h <= 0 then return STEP end
  local per = SCAN_SECONDS * h
  if h * 3 >= cur.memlimit - base_heap then
    if h > 2 * gc_live or h * 2 < gc_live then
      local t = clock()
      collectgarbage("collect")
      gc_cost = clock() - t
      gc_spent = gc_spent + gc_cost
      gc_live = collectgarbage("count") * 1024 - base_heap
      if gc_live < 1 then gc_live = 1 end
    end
    per = per + gc_cost / 2   -- an allocating instruction needs one before it to set it up
  end
  local s = check_every / per
  if s >= STEP then return STEP end
  if s < 1 then return 1 end
  return floor(s)
end

-- The time budget spent: said with the host calls' share when the call made any (which of the
-- two checks sees it first, the instruction hook's or a host call's, is the clock's choice).
local function out_of_time(c)
  if c.hosted then
    die("timeout", s_format("time budget exceeded (%g s; each host call counts %g s)", c.tlimit, LIMITS.host_call))
  end
  die("timeout", s_format("time budget exceeded (%g s)", c.tlimit))
end

-- Counts `n` more instructions against the call and ends it when a budget is spent.
local function spend(n)
  local c = cur
  c.count = c.count + n
  if c.count > c.limit then
    die("instructions", s_format("instruction budget exceeded (%d instructions)", c.limit))
  end
  if elapsed() > c.tleft then out_of_time(c) end
end

local function hook()
  local co = co_running()
  local mine = thread_step[co]
  if not mine or mine < 1 then mine = hook_every end   -- forced early by a collection: a full interval
  spend(mine)
  local s = step_for_heap()
  hook_every = s
  if s ~= mine or thread_step[co] ~= s then
    thread_step[co] = s
    sethook(hook, "", s)
  end
end

-- Gives thread `co` the current interval, if it runs with another one.
local function sync_step(co)
  if thread_step[co] ~= hook_every then
    thread_step[co] = hook_every
    sethook(co, hook, "", hook_every)
  end
end

-- A collection cycle ending is a moment to look at the clock: an instruction that allocates a
-- lot (a copy of a big string) can take long, and the cycles come with the allocations. A
-- finalizer cannot raise an error, so when the interval has run long it makes the hook fire at
-- the next instruction. (Emergency collections at the memory cap run no finalizer: there the
-- short interval for a big heap does the work.)
local SENTINEL = {}
SENTINEL.__gc = function(o)
  setmetatable(o, SENTINEL)                 -- finalized again at the end of the next cycle
  if not in_call then return end
  local co, main = co_running()
  if main or not thread_step[co] then return end
  local now = clock()
  if not last_check then last_check = now; return end
  if now - last_check > check_every / 2 then
    thread_step[co] = 0
    sethook(hook, "", 1)
  end
end
setmetatable({}, SENTINEL)

local function forbidden(what)
  die("forbidden", what .. " is not available in the sandbox")
end

-- Charges `n` instructions of work done in C; refuses before the work if it would not fit in
-- the instruction budget, or in the time left. `work` (default n, in instructions) is the C
-- work the call may do at most, when only part of it is charged; the clock is looked at once
-- per CHARGE_CHECK of such work.
local function charge(n, what, work)
  local c = cur
  if c.dead then error(c.msg, 0) end
  work = work or n
  -- the guards pass numbers they computed from checked arguments; NaN and -inf are refused
  if not (n >= 0 and work >= 0) then
    if n == n and work == work then n, work = n > 0 and n or 0, work > 0 and work or 0
    else die("instructions", what .. ": the work could not be estimated") end
  end
  if n > c.limit - c.count then
    die("instructions", s_format("%s would exceed the instruction budget (estimated %.0f instructions, %.0f left)",
      what, n, c.limit - c.count))
  end
  c.count = c.count + n
  local since = c.charged + work
  if since < CHARGE_CHECK then c.charged = since; return end
  c.charged = 0
  if elapsed() + work * SECONDS_PER_CHARGED > c.tleft then
    die("timeout", s_format("%s would exceed the time budget (%g s; estimated %.0f instructions of work)",
      what, c.tlimit, work))
  end
end

local function need_memory(bytes, what)
  local left = cur.memlimit - collectgarbage("count") * 1024
  if math_type(bytes) == nil or not (bytes <= left) then
    die("memory", s_format("%s would exceed the memory budget (%s bytes asked, %.0f left)",
      what, math_type(bytes) and s_format("%.0f", bytes) or "?", left))
  end
end

-- The guarded C functions (sandbox/guards.lua). named(name, f, ...) calls C function f named as
-- the script knows it in its errors, at the script's line (sandbox/named.lua), as the guards do.
local E, done, named = named_chunk()(script_where)
local G = guards_chunk()(patterns_chunk, charge, need_memory, function() return cur.limit - cur.count end,
                         function() return cur.serial end, E, done)

---------------------------------------------------------------------------------------------
-- Setup: the allow-list, seed and limits come from the host as plain data.

local config = build_values(shape, t_pack(...), 1)[1]
LIMITS = config.limits
V.set_limits(LIMITS)
math.randomseed(seed)

local env = {}
local sealed = setmetatable({}, {__mode = "k"})     -- read-only tables (libraries, host namespaces)
local protected = setmetatable({}, {__mode = "k"})  -- tables whose metatable is the sandbox's
local denied = {}
for _, name in next, config.denied_globals do denied[name] = true end

-- print: captured into the call's log. It shares a cap a call with the host's log functions
-- (the `log` namespace, which go to the host's log at once): LIMITS.log_lines lines and
-- LIMITS.log_bytes bytes; past it lines are dropped, counted, and said once at the call's end.
local log_lines, log_n, out_n, out_bytes, log_dropped = {}, 0, 0, 0, 0
local function spend_output(bytes)
  if out_n >= LIMITS.log_lines or out_bytes + bytes > LIMITS.log_bytes then
    log_dropped = log_dropped + 1
    return false
  end
  out_n, out_bytes = out_n + 1, out_bytes + bytes
  return true
end
local function print_(...)
  local n = select("#", ...)
  local parts = {}
  -- a __tostring's answer refused is told at the script's line, as Lua's print tells it
  for idx = 1, n do parts[idx] = named("tostring", tostring, (select(idx, ...))) end
  local line = t_concat(parts, "\t")
  -- The host splits the call's log at its newlines: one in a line is written as \n.
  if s_find(line, "\n", 1, true) then line = s_gsub(line, "\n", "\\n") end
  if spend_output(#line) then log_n = log_n + 1; log_lines[log_n] = line end
end
local function take_log()
  if log_n == 0 and log_dropped == 0 then return nil end
  local text = safe_text(t_concat(log_lines, "\n", 1, log_n), LIMITS.log_bytes + LIMITS.log_lines)
  if log_dropped > 0 then
    text = text .. s_format("%s(%d more lines dropped: print and log.* write at most %d lines, %d bytes a call)",
      log_n > 0 and "\n" or "", log_dropped, LIMITS.log_lines, LIMITS.log_bytes)
  end
  log_lines, log_n, out_n, out_bytes, log_dropped = {}, 0, 0, 0, 0
  return text
end

-- Catchers: pcall, xpcall, coroutine.resume/wrap/close. Each re-raises a dead call, and turns
-- a memory error it would have swallowed into the end of the call.
-- Catchers nest at most MAX_CATCH_DEPTH deep. Near Lua's C-stack limit the budget hook
-- cannot even be called (calling it overflows), and a script that recurses through pcall
-- there does exponential work nothing can interrupt; stopping the nesting well before the
-- limit closes that hole. Each caught error is also charged and the clock checked.
local MAX_CATCH_DEPTH <const> = 100
local CATCH_COST <const> = 16
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
    spend(CATCH_COST)
  end
  return ok, ...
end

local function pcall_(...)
  if select("#", ...) == 0 then return named("pcall", pcall) end   -- refused as Lua refuses it
  enter_catch("pcall")
  return after_catch(pcall(...))
end

-- Lua runs xpcall's message handler with hooks off, so a looping handler would never stop:
-- emulate xpcall on the guarded pcall and run the handler as ordinary, hooked code. A handler
-- that is no function is refused before f runs, as Lua refuses it (Lua's xpcall checks it first).
local function xpcall_(f, ...)
  local handler = ...
  if type(handler) ~= "function" then return named("xpcall", xpcall, f, ...) end
  local r = t_pack(pcall_(f, select(2, ...)))
  if r[1] then return t_unpack(r, 1, r.n) end
  return after_catch(false, (select(2, pcall_(handler, r[2]))))
end

-- The coroutines the script created: the only ones it may resume. (A call abandoned in a host
-- call leaves the driver's own coroutine suspended; resumed by the script, it would run the old
-- call and hand the script the driver's end-of-call marker.)
local created = setmetatable({}, {__mode = "k"})

local function new_co(name, ...)
  local co = named(name, co_create, ...)   -- as it was given: create() is "got no value"
  sethook(co, hook, "", hook_every)
  thread_step[co] = hook_every
  created[co] = true
  return co
end
local function co_create_(...) return new_co("create", ...) end

-- A host call made inside a script's own coroutine yields HOST up through every level to the
-- driver, and its answer travels back down. The marker is compared raw: a yielded table's
-- __eq would otherwise run, and be handed the marker.
local function resume_(...)
  local co = ...
  if type(co) ~= "thread" then return named("resume", co_resume, ...) end   -- refused, as Lua says it
  if not created[co] then return false, "cannot resume a coroutine the script did not create" end
  sync_step(co)
  enter_catch("coroutine.resume")
  local r = t_pack(co_resume(...))
  while r[1] and rawequal(r[2], HOST) and co_status(co) == "suspended" do
    r = t_pack(co_resume(co, co_yield(t_unpack(r, 2, r.n))))
  end
  sync_step(co_running())   -- the heap may have grown while the coroutine ran
  return after_catch(t_unpack(r, 1, r.n))
end

local function wrap_(...)
  local co = new_co("wrap", ...)
  return function(...)
    local r = t_pack(resume_(co, ...))
    if not r[1] then error(r[2], 0) end
    return t_unpack(r, 2, r.n)
  end
end

local function close_(...)
  local co = ...
  -- refused (not a coroutine, or one running): as Lua says it, before the catch is counted
  if type(co) ~= "thread" then return named("close", co_close, ...) end
  local status = co_status(co)
  if status == "running" or status == "normal" then return named("close", co_close, co) end
  enter_catch("coroutine.close")
  if type(co) == "thread" and thread_step[co] then sync_step(co) end   -- its __close handlers run on it
  return after_catch(co_close(co))
end

-- Weak keys make a table an ephemeron table: a chain of them costs one collection O(N^2) in a
-- single C step no hook can stop (40,000 links: seconds). Weak values cost no more than strong.
local function weak_keys(mode)
  return type(mode) == "string" and s_find(mode, "k", 1, true) ~= nil
end

-- The wrappers hand C what they were given: an argument left out is "no value" to it, not nil.
local function setmetatable_(...)
  local t, mt = ...
  if protected[t] then forbidden("setmetatable on a sandbox table") end
  if type(mt) == "table" then
    if rawget(mt, "__gc") ~= nil then forbidden("__gc (finalizers)") end
    if weak_keys(rawget(mt, "__mode")) then forbidden('a weak-keyed table (__mode "k"; "v" is allowed)') end
  end
  return named("setmetatable", setmetatable, ...)
end

local function rawset_(...)
  if sealed[(...)] then forbidden("changing a library table") end
  return named("rawset", rawset, ...)
end

local function rawget_(...)
  local t, k = ...
  if rawequal(t, env) and denied[k] then forbidden(s_format("%q", k)) end
  return named("rawget", rawget, ...)
end

---------------------------------------------------------------------------------------------
-- The script's environment.

local pairs_, walk = walk_chunk()(G.table.sort, named)   -- pairs in a defined order (sandbox/walk.lua)

local OVERRIDE = {
  pcall = pcall_, xpcall = xpcall_, print = print_, setmetatable = setmetatable_,
  rawset = rawset_, rawget = rawget_, tonumber = G.tonumber, pairs = pairs_,
}
-- os.time() and os.date() without a time read the host's clock when it gives one (replay's
-- replayed clock, see driver.clock), else the system's. os.date takes time.now()'s fraction
-- of a second (plain Lua refuses it only when it is there: a script that passed a test's
-- whole clock failed live).
local os_time, os_date = os.time, G.os.date
local now_fn = false
local function time_(...)
  if select("#", ...) == 0 and now_fn then return floor(now_fn()) end
  return named("time", os_time, ...)
end
local function date_(fmt, ...)
  local n = select("#", ...)
  if n == 0 and now_fn then return os_date(fmt, floor(now_fn())) end
  local t = ...
  if n == 1 and math_type(t) == "float" and t == t and t > -2^53 and t < 2^53 then return os_date(fmt, floor(t)) end
  return os_date(fmt, ...)
end
-- os.difftime likewise takes time.now()'s fraction, and answers the difference whole (plain
-- Lua refused it: a script timing a position from time.now() failed at every call).
local function a_time(t, n)
  if math_type(t) == "integer" or (math_type(t) == "float" and t == t and t > -2^53 and t < 2^53) then return t end
  error(s_format("bad argument #%d to 'difftime' (a time in seconds expected, got %s)", n,
    t ~= t and "nan" or math_type(t) and tostring(t) or type(t)), 3)   -- the script's line, not this one
end
local os_difftime = os.difftime
local function difftime_(...)
  local n, t2, t1 = select("#", ...), ...
  -- a time left out is refused as Lua 5.4 refuses it ("got no value"; 5.3 took t1 as 0)
  if n == 0 then return named("difftime", os_difftime) end
  if n == 1 then a_time(t2, 1); return named("difftime", os_difftime, 0) end
  return a_time(t2, 1) - a_time(t1, 2) + 0.0
end

local OVERRIDE_LIB = {
  coroutine = {create = co_create_, resume = resume_, wrap = wrap_, close = close_},
  string = G.string, table = G.table, utf8 = G.utf8,
  os = {time = time_, date = date_, difftime = difftime_},
}

-- A read-only view of `impl`; reading a denied field is `forbidden`, writing anything is.
-- pairs() on the view walks `impl` (in pairs' order) through a closure and hands out the view
-- itself as its state: `impl` is never reachable (it would be writable).
local function seal(label, impl, denied_fields)
  local deny = {}
  for _, f in next, denied_fields or {} do deny[f] = true end
  setmetatable(impl, {
    __index = function(_, k)
      if deny[k] then forbidden(label .. "." .. k) end
      return nil
    end,
    __metatable = false,
  })
  local proxy = setmetatable({}, {
    __index = impl,
    __newindex = function(_, k) forbidden("changing " .. label .. "." .. keytext(k)) end,
    __pairs = function(self) return walk(impl), self, nil end,
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
-- the call to the host and resumes the script with the answer. `host_pending` says a genuine
-- host call is on its way up: the driver takes a yield for one only then.
local host_pending = false
-- A host call's round trip costs the engine time this thread's clock never sees: charged to the
-- time budget (LIMITS.host_call), so that a loop of cheap host calls ends on the budget like any
-- other loop, and not on the worker's hard deadline.
local function charge_host()
  local c = cur
  c.used, c.hosted = c.used + LIMITS.host_call, true
  if c.used + elapsed() > c.tlimit then out_of_time(c) end
end
-- What a line of the host's log counts against the call's output cap (print's): its strings'
-- bytes, a few for any other value; at most 2000, what the host keeps of a line.
local function line_bytes(out, no)
  local bytes = 0
  for idx = 1, no do
    local v = out[idx]
    bytes = bytes + (type(v) == "string" and #v or 8)
  end
  return bytes < 2000 and bytes or 2000
end
-- The line of the script's call of a host function the host asked it for (config.sited: the
-- host names it, "trail.lua:10", where an order was placed): the host stub's caller's, or, called
-- through trusted code or C (pcall, a guard), the innermost frame of the script under it. Only "l"
-- is asked (the cheap part of getinfo): the trusted chunks are stripped, so the script's frames
-- alone have lines. Asked of every host call it cost 8-12% of one in a worker (1.4-1.9 us).
local function call_line()
  for level = 3, 200 do   -- 1: call_line, 2: the host function's stub
    local info = getinfo(level, "l")
    if not info then return nil end
    local line = info.currentline
    if line >= 0 then return line end
  end
  return nil
end
local function host_function(name, sited)
  local logs = s_match(name, "^log%.") ~= nil
  return function(...)
    local ok, fshape, out, no = pcall(flatten, t_pack(...), 1, select("#", ...))
    if cur.dead then error(cur.msg, 0) end
    if not ok then
      -- out of heap flattening the arguments: the budget's error, which the script cannot catch
      if rawequal(fshape, MEMERR) then die("memory", "memory budget exceeded") end
      error(name .. ": argument " .. fshape, 2)
    end
    if logs and not spend_output(line_bytes(out, no)) then return end
    charge_host()
    host_pending = true
    local line = nil
    if sited then line = call_line() end
    local r = t_pack(co_yield(HOST, name, line, fshape, t_unpack(out, 1, no)))
    if not rawequal(r[1], "ok") then error(safe_text(r[2]), 2) end  -- named by the host (sandbox/host.py)
    local values, n = build_values(r[2], r, 3)
    return t_unpack(values, 1, n)
  end
end
local namespaces, sited = {}, {}
for _, full in next, config.sited do sited[full] = true end
for _, full in next, config.host do
  local ns, fn = s_match(full, "^([%a_][%w_]*)%.([%a_][%w_]*)$")
  if ns then
    namespaces[ns] = namespaces[ns] or {}
    namespaces[ns][fn] = full
  else
    env[full] = host_function(full, sited[full])
  end
end
for ns, fns in next, namespaces do
  local impl = {}
  for fn, full in next, fns do impl[fn] = host_function(full, sited[full]) end
  env[ns] = seal(ns, impl, nil)
end

env._G = env
env._VERSION = _VERSION
local initial = {}
for k in next, env do initial[k] = true end
protected[env] = true
setmetatable(env, {
  __index = function(_, k)
    if denied[k] then forbidden(s_format("%q", k)) end
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
  in_call = false
  raise_cap()
  local c = cur
  if c.dead then
    runner = nil
    -- Looked for where the budget ran out when die could not look (at the C-stack limit): the
    -- dead coroutine keeps its stack, and here no hook or lowered cap is in the way.
    return "err", take_log(), c.dead, c.msg, c.where or script_where(co)
  end
  if not ok then
    runner = nil
    if rawequal((...), MEMERR) then
      return "err", take_log(), "memory", "memory budget exceeded", script_where(co)
    end
    return "err", take_log(), "script", safe_text((...)), script_where(co)
  end
  -- The markers are compared raw: a yielded table's __eq would otherwise run here, on the
  -- main thread, with no hook, and be handed the marker.
  local tag = (...)
  if rawequal(tag, HOST) and host_pending then
    host_pending = false
    if seg_start then c.used = c.used + (clock() - seg_start) end
    return "host", select(2, ...)
  end
  host_pending = false
  if not rawequal(tag, DONE) then
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
    -- nil and true, the usual pass: shaped here, not by the general flatten
    if rawequal(v, nil) then return "ok", take_log(), "n" end
    if rawequal(v, true) then return "ok", take_log(), "t" end
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
  seg_start, last_check = false, false
  sync_step(runner)
  in_call = true
  return finish(runner, co_resume(runner, ...))
end


-- Starts a call under the budget. The budget state is reset in place: every field, so that
-- nothing of the call before is left in it (a table per call was garbage for every call).
local function begin()
  local c = cur
  c.serial = c.serial + 1   -- what the guards charged belongs to this call (gmatch's iterators)
  c.count, c.limit, c.tlimit, c.tleft, c.used = 0, B_instructions, B_timeout, B_timeout, 0
  c.memlimit, c.dead, c.charged, c.msg, c.where, c.hosted = B_memlimit, false, 0, nil, nil, false
  catch_depth = 0
  host_pending = false
  check_every = B_check_every
  gc_spent = 0
  hook_every = step_for_heap()
  cur.used = gc_spent   -- a collection measured here is the call's time
  if not runner_idle then  -- none yet, or one abandoned in a host call
    runner = co_create(run_loop)
    sethook(runner, hook, "", hook_every)
    thread_step[runner] = hook_every
  end
  runner_idle = false
end

-- The global functions the script defined (its hooks), listed by the chunk's own coroutine
-- after the chunk ran, so under its budget: identifier names only (anything else is no hook
-- and may not cross to the host), at most LIMITS.functions of them.
local listed = ""
local function list_functions()
  local names, n = {}, 0
  for k, v in next, env do
    if type(v) == "function" and type(k) == "string" and not initial[k]
       and s_find(k, "^[%a_][%w_]*$") then
      n = n + 1
      if n > LIMITS.functions then
        error(s_format("the script defines more than %d global functions", LIMITS.functions), 0)
      end
      names[n] = k
    end
  end
  t_sort(names)
  return t_concat(names, "\n")
end
local function run_chunk(f)
  local r = t_pack(f())
  listed = list_functions()
  return t_unpack(r, 1, r.n)
end

local driver = {}

-- Compiles the script (text only: bytecode is refused) and runs its chunk under the budget.
-- The parser is fed the source in pieces and the time budget is looked at between them (some
-- sources take the parser seconds); compiling counts toward the load's time budget.
function driver.load(source, name)
  local timeout = B_timeout
  chunk_source = "=" .. name
  begin()
  local pos, len, t0, slow = 1, #source, clock(), false
  local reader = source                     -- one piece cannot keep the parser long
  if len > PIECE then
    reader = function()
      if pos > len then return nil end
      if pos > 1 and clock() - t0 + cur.used > timeout then slow = true; error("time budget exceeded", 0) end
      local piece = s_sub(source, pos, pos + PIECE - 1)
      pos = pos + PIECE
      return piece
    end
  end
  local f, err = lua_load(reader, "=" .. name, "t", env)
  if slow then
    return "err", nil, "timeout", s_format("time budget exceeded while compiling (%g s)", timeout), nil
  end
  if not f then return "err", nil, "script", safe_text(err), nil end
  cur.used = cur.used + (clock() - t0)
  return step(run_chunk, f)
end

-- Calls the script's global function `name` with arguments given as shape and scalars.
function driver.call(name, ashape, ...)
  local f = rawget(env, name)
  if type(f) ~= "function" then
    return "err", nil, "script", "the script defines no function " .. safe_text(name), nil
  end
  begin()
  if ashape == "" then return step(f) end
  local args, n = build_values(ashape, t_pack(...), 1)
  return step(f, t_unpack(args, 1, n))
end

-- Resumes the call suspended in a host function with the host's answer.
function driver.answer(status, ashape, ...)
  if not runner then return "err", nil, "script", "no call is waiting for a host answer", nil end
  return step(status, ashape, ...)
end

-- Sets the budget of every call: instructions, CPU seconds, the heap cap in bytes, and the
-- worker's hard deadline for a call (seconds), within whose margin the checks keep; and the
-- host's functions that lower and raise the heap cap (see lower_cap).
function driver.budget(instructions, timeout, deadline, memlimit, lower, raise)
  B_instructions, B_timeout, B_memlimit = instructions, timeout, memlimit
  lower_cap, raise_cap = lower, raise
  B_check_every = (deadline - timeout) / 3
  if B_check_every < 0.005 then B_check_every = 0.005 end
end

-- The clock os.time() and os.date() read (a host function returning Unix seconds).
function driver.clock(fn)
  now_fn = fn
end

-- The names of the functions the script defined as globals (its hooks), as listed at load.
function driver.functions()
  return listed
end

-- A global the script set (e.g. its `plugin` table), flattened.
function driver.global(name)
  local ok, fshape, out, no = pcall(flatten, {rawget(env, name)}, 1, 1)
  if not ok then return "err", nil, "script", safe_text(name) .. " " .. safe_text(fshape), nil end
  return "ok", nil, fshape, t_unpack(out, 1, no)
end

-- Sets a global to plain data from the host (the engine's merged `params`). The host is
-- trusted; it still cannot replace a name of the allow-list or a host namespace.
function driver.setglobal(name, ashape, ...)
  if initial[name] then return "err", nil, "script", "cannot replace the global " .. safe_text(name), nil end
  local values = build_values(ashape, t_pack(...), 1)
  rawset(env, name, values[1])
  return "ok", nil, ""
end

-- What the runtime holds before the script: the hook interval scales with the script's heap.
base_heap = collectgarbage("count") * 1024

return driver.load, driver.call, driver.answer, driver.functions, driver.global, driver.setglobal,
  driver.budget, driver.clock
end
