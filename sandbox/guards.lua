-- Guards for the C functions that can run long in one call, trusted code.
--
-- The budget hook runs between instructions and never inside a C function, so a single call
-- such as string.rep('', math.maxinteger) or a backtracking pattern would run for hours. Each
-- guarded function estimates its work before it runs: it is charged to the call's instruction
-- budget, and refused (`instructions`, or `memory` for a result too large) when it would not
-- fit. The hard deadline outside the worker remains the backstop.
--
-- Returns a function taking the prelude's budget operations and returning the guarded
-- functions, by library.

local type, next, tostring, select = type, next, tostring, select
local s_byte, s_char, s_sub, s_find, s_match, s_gmatch, s_gsub, s_rep, s_format =
  string.byte, string.char, string.sub, string.find, string.match, string.gmatch, string.gsub,
  string.rep, string.format
local t_concat, t_unpack, t_move, t_sort, t_insert, t_remove =
  table.concat, table.unpack, table.move, table.sort, table.insert, table.remove
local math_type, floor, log = math.type, math.floor, math.log
local utf8_codepoint = utf8.codepoint

local STEPS_PER_INSTRUCTION = 8  -- C work (bytes compared, pattern steps) per charged instruction

-- charge(n, what): count n instructions, or end the call if they do not fit;
-- need_memory(bytes, what): end the call if the heap cannot grow by bytes;
-- remaining(): instructions left in the call's budget.
return function(charge, need_memory, remaining)

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
    steps = pattern_steps(s, n, p, remaining())
  end
  local need = steps / STEPS_PER_INSTRUCTION
  if need > remaining() then charge(need, what) end
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

return G
end
