-- The sandbox prelude: trusted code run once in each fresh plugin runtime, before the script.
--
-- It captures the standard library in locals, builds the script's environment from the
-- allow-list handed in by the host (sandbox/allowlist.py), arms the budgets, and returns the
-- driver functions the host calls. Script code only ever runs inside a coroutine that carries
-- the budget hook; the driver itself runs on the main thread, without a hook, and touches
-- script values only with raw operations, so no metamethod of the script runs outside a budget.

local _G = _G
local type, next, select, error, tostring = type, next, select, error, tostring
local rawget, rawset, rawequal = rawget, rawset, rawequal
local setmetatable, getmetatable, pcall = setmetatable, getmetatable, pcall
local co_create, co_resume, co_yield, co_status, co_close =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.status, coroutine.close
local sethook, getinfo = debug.sethook, debug.getinfo
local clock = os.clock
local gcount = function() return collectgarbage("count") end
local s_match, s_format = string.match, string.format
local t_concat, t_unpack, t_pack, t_sort = table.concat, table.unpack, table.pack, table.sort
local utf8_len = utf8.len
local lua_load = load

local MEMERR = "not enough memory"
local HOST = {}          -- marks a yield that carries a host call; never reachable by scripts
local STEP = 1000        -- instructions between two budget checks

-- lower_cap and raise_cap move the Lua heap cap: low while the script runs, high (with
-- headroom) while trusted code builds or flattens values, so that the host's own pushes can
-- never fail an allocation outside a protected call (which would abort the process).
-- values_chunk and guards_chunk are sandbox/values.lua and sandbox/guards.lua, compiled.
return function(lower_cap, raise_cap, values_chunk, guards_chunk, seed, shape, ...)

local V = values_chunk()
local build_values, flatten, safe_text = V.build, V.flatten, V.safe_text

-- Budget state of the call in progress. One call runs per runtime at a time.
local cur = {count = 0, limit = 0, tleft = 0, tlimit = 0, used = 0, memlimit = 0, dead = false}
local seg_start = false   -- CPU clock when the running segment of the call began
local chunk_source = "=?"
local LIMITS               -- crossing and log limits, set from the config below

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

-- Counts `n` more instructions against the call and ends it when a budget is spent.
local function spend(n)
  local c = cur
  c.count = c.count + n
  if c.count > c.limit then
    die("instructions", s_format("instruction budget exceeded (%d instructions)", c.limit))
  end
  if elapsed() > c.tleft then
    die("timeout", s_format("time budget exceeded (%g s)", c.tlimit))
  end
end

local function hook()
  spend(STEP)
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
    spend(CATCH_COST)
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
-- The script's environment.

local G = guards_chunk()(charge, need_memory, function() return cur.limit - cur.count end)

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

-- Sets a global to plain data from the host (the engine's merged `params`). The host is
-- trusted; it still cannot replace a name of the allow-list or a host namespace.
function driver.setglobal(name, ashape, ...)
  if initial[name] then return "err", nil, "script", "cannot replace the global " .. safe_text(name), nil end
  local values = build_values(ashape, t_pack(...), 1)
  rawset(env, name, values[1])
  return "ok", nil, ""
end

return driver.load, driver.call, driver.answer, driver.functions, driver.global, driver.setglobal
end
