-- Errors of the C functions the sandbox wraps, named as Lua names its own, trusted code.
--
-- A C function takes its name and the line it was called from from its caller's frame: for a
-- guard (sandbox/guards.lua) or a wrapper of the prelude's, trusted code compiled without debug
-- information, so a script read "bad argument #2 to '?'" without file:line, and a trader could
-- not tell which call had failed. Each calls its C function as done(xpcall(f, E[name], ...)):
-- an error the C function raises itself is said as Lua says it, with the script's file:line,
-- "t.lua:2: bad argument #2 to 'rep' (number expected, got table)" (a method call such as
-- ("x"):rep({}) does not count the string). An error raised deeper (the script's comparator, a
-- nested guard, the budget's end of the call) is left as it was raised; a memory error reaches
-- no handler. A guard the script tail-called (`return string.rep(...)`) has replaced the
-- script's frame: the line is then its caller's, as Lua's own error(msg, 2) would say.
--
-- Returns a function taking where() (file:line of the script's innermost frame, or nil) and
-- returning E, done and call(name, f, ...), the three together.

local type, tonumber, error, xpcall, setmetatable = type, tonumber, error, xpcall, setmetatable
local s_match, d_getinfo = string.match, debug.getinfo

return function(where)

-- e, the C function's own message, with the name the script knows it by.
local function renamed(name, e)
  local no, rest = s_match(e, "^bad argument #(%d+) to '[^']*'(.*)$")
  if not no then return e end
  local by = d_getinfo(5, "n")              -- the guard (renamed, handler, C, xpcall, guard)
  if by and by.namewhat == "method" then
    no = tonumber(no) - 1
    if no == 0 then return "calling '" .. name .. "' on bad self" .. rest end
  end
  return "bad argument #" .. no .. " to '" .. name .. "'" .. rest
end

-- E[name]: the message handler for the C function called `name`, made once.
local E = setmetatable({}, {__index = function(handlers, name)
  local function handler(e)
    -- level 2 raised it; called by xpcall (level 3), it is the C function the guard handed it
    if type(e) ~= "string" then return e end
    local by = d_getinfo(3, "f")
    if not (by and by.func == xpcall) then return e end
    local at = where()
    e = renamed(name, e)
    if at then return at .. ": " .. e end
    return e
  end
  handlers[name] = handler
  return handler
end})

-- The results of xpcall's call, or its error raised again as it is.
local function done(ok, ...)
  if ok then return ... end
  error((...), 0)
end

-- Calls C function f, named `name` in its errors (for the prelude's wrappers).
local function call(name, f, ...)
  return done(xpcall(f, E[name], ...))
end

return E, done, call
end
