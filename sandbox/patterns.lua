-- The work of a pattern search, estimated before it runs, trusted code (see guards.lua, whose
-- string.find, match, gmatch and gsub guards use it).
--
-- The matcher backtracks: each quantified item tries every length it can match, and the tries
-- multiply; each try tests a byte against a class, which for a [set] is a scan of the set. The
-- estimate is the tries times the dearest test, plus every start compared with the pattern.
--
-- Returns a function taking the prelude's charge and remaining (see guards.lua) and the
-- guards' own argument readers, and returning need, pay and guard (below).

local type, tostring, rawequal = type, tostring, rawequal
local s_byte, s_char, s_sub, s_find, s_gmatch = string.byte, string.char, string.sub, string.find, string.gmatch
local t_concat = table.concat

local CHEAP <const> = 4096               -- pattern steps charged as estimated without looking closer
local DP_CELLS <const> = 400000          -- the largest exact pattern count worth running (items x bytes)
local SET_BYTES_PER_STEP <const> = 8     -- bytes of a [set] scanned in the time of one pattern step (~10 measured)

return function(charge, remaining, args)

local str_len, opt_int, start_pos = args.str_len, args.opt_int, args.start_pos
local STEPS_PER_INSTRUCTION = args.steps   -- C work (bytes compared, pattern steps) per charged instruction

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

return {need = pattern_need, pay = pay_pattern, guard = guard_pattern}
end
