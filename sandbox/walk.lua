-- pairs in a defined order, trusted code.
--
-- Lua 5.4 seeds its string hash per state (from addresses and the time), so `next` walks a
-- table's string keys in an order of each state's own: a script placing orders in a `pairs`
-- loop placed them in another order in each run, and a replay or a shadow was not the same
-- twice. The script's `pairs` walks instead: the array part 1..n (while t[i] is not nil), then
-- the other numbers in ascending order, strings in byte order, false, true, and last the keys of
-- other types (tables, functions, coroutines: hashed by address, they have no order a script
-- could know; they come in Lua's own order). `next` stays Lua's own.
--
-- Everything here runs in the calling script's coroutine, so its work counts against the call's
-- instruction budget like the script's own (the key lists are its heap; the sorts are the
-- guarded table.sort, charged per comparison). A key removed during the walk is skipped; one
-- added is not visited.
--
-- Returns a function taking the guarded sort and named (sandbox/named.lua's call) and returning
-- pairs and walk(t) (an iterator over t, for a read-only view's __pairs).

local type, next, rawget, rawequal, pairs, select = type, next, rawget, rawequal, pairs, select
local d_getmetatable, math_type = debug.getmetatable, math.type

return function(sort, named)

-- Appends list[1..m] to keys[1..n]; the new n.
local function append(keys, n, list, m)
  for idx = 1, m do n = n + 1; keys[n] = list[idx] end
  return n
end

-- The keys of t after its array part 1..border, in the order above, and their count. Strings,
-- the usual keys, are listed where the others end up; the rarer kinds get lists when they come.
local function other_keys(t, border)
  local strs, ns = {}, 0
  local nums, others, nn, no, has_false, has_true = nil, nil, 0, 0, false, false
  for k in next, t do
    local tk = type(k)
    if tk == "string" then ns = ns + 1; strs[ns] = k
    elseif tk == "number" then
      if not (math_type(k) == "integer" and k >= 1 and k <= border) then
        nn = nn + 1
        if nn == 1 then nums = {k} else nums[nn] = k end
      end
    elseif rawequal(k, false) then has_false = true
    elseif rawequal(k, true) then has_true = true
    else
      no = no + 1
      if no == 1 then others = {k} else others[no] = k end
    end
  end
  if ns > 1 then sort(strs) end
  if nn == 0 and no == 0 and not has_false and not has_true then return strs, ns end
  local keys = nums or {}
  if nn > 1 then sort(keys) end
  local n = append(keys, nn, strs, ns)
  if has_false then n = n + 1; keys[n] = false end
  if has_true then n = n + 1; keys[n] = true end
  return keys, append(keys, n, others, no)
end

-- An iterator over t's entries in the order above, its keys listed when it is made.
local function walk(t)
  local border = 0
  while rawget(t, border + 1) ~= nil do border = border + 1 end
  local keys, n = other_keys(t, border)
  local i, j = 0, 0
  return function()
    while i < border do
      i = i + 1
      local v = rawget(t, i)
      if v ~= nil then return i, v end
    end
    while j < n do
      j = j + 1
      local k = keys[j]
      local v = rawget(t, k)
      if v ~= nil then return k, v end
    end
    return nil
  end
end

-- pairs as Lua's, a __pairs metamethod honoured, but for the order of a plain table's walk.
-- pairs() is refused at the script's line, as Lua refuses it (pairs(nil) fails at the loop).
local function pairs_(...)
  if select("#", ...) == 0 then return named("pairs", pairs) end
  local t = ...
  if type(t) ~= "table" then return pairs(...) end          -- __pairs, or next's error at the loop
  local mt = d_getmetatable(t)
  if mt ~= nil and rawget(mt, "__pairs") ~= nil then return pairs(...) end
  return walk(t), t, nil
end

return pairs_, walk
end
