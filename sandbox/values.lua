-- Plain data across the sandbox boundary, trusted code (see sandbox/codec.py for the host side).
--
-- Values travel as a shape string, one letter per value, and a flat list of scalars:
--   v: next scalar  n: nil  t: true  f: false  a: array (count, then items)  m: map (count,
--   then key and value per entry)
-- Building and flattening touch script tables with raw operations only, so no metamethod of
-- the script ever runs here, and they never re-enter, so their state lives in upvalues rather
-- than in closures made per call.
-- Flattening also runs on the driver's unhooked main thread (a call's return values), so its
-- work is bounded by the limits alone: at most LIMITS.values values (of any kind) are visited,
-- and each table's slots are scanned with `next` at most three times per flatten (a walk costs
-- the slots allocated, emptied ones too, not the entries: see f_keys).

local type, next, error, tostring, rawget, rawlen = type, next, error, tostring, rawget, rawlen
local s_byte, s_format, s_gsub, s_sub, s_find = string.byte, string.format, string.gsub, string.sub, string.find
local t_concat, math_type, utf8_len = table.concat, math.type, utf8.len

local LIMITS = {depth = 32, values = 100000, bytes = 1048576}

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
  -- One map of scalars ("mvv...v"), the usual alert or order: built in one loop.
  local len = #shape
  if len > 1 and s_byte(shape, 1) == 109 and vals[first] == len - 1 and not s_find(shape, "[^v]", 2) then
    local t = {}
    for i = first + 1, first + 2 * (len - 1), 2 do t[vals[i]] = vals[i + 1] end
    return {t}, 1
  end
  B_shape, B_vals, B_sp, B_vp = shape, vals, 1, first
  local out, n, len = {}, 0, #shape
  while B_sp <= len do n = n + 1; out[n] = build_one() end
  B_vals = nil
  return out, n
end

-- F_seen[t]: true while t is on the path being walked (a cycle), false once walked.
-- F_keys[t]: the keys of a table met again, listed once (f_keys); nil until one is.
local F_shape, F_out, F_ns, F_no, F_bytes, F_path, F_seen, F_keys

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

local f_value

-- The keys of a table walked before in this flatten (shared, not a cycle), in `next` order,
-- and whether it is an array: listed once, so that a table of emptied slots returned many
-- times is not scanned once per reference (2^19 slots, 30,000 times: tens of seconds).
local function f_keys(v)
  if not F_keys then F_keys = {} end  -- made here, not per flatten: most never meet a table twice
  local keys = F_keys[v]
  if keys then return keys end
  local n, count, is_array = rawlen(v), 0, true
  keys = {}
  for k in next, v do
    count = count + 1
    keys[count] = k
    if is_array and not (math_type(k) == "integer" and k >= 1 and k <= n) then is_array = false end
  end
  keys.n, keys.array = count, is_array and count == n and n > 0
  F_keys[v] = keys
  return keys
end

-- A table walked before: its entries again, from its listed keys (checked the first time).
local function f_again(v, ns, depth)
  local keys = f_keys(v)
  F_shape[ns] = keys.array and "a" or "m"
  f_scalar(keys.n, depth)
  local array = keys.array
  for idx = 1, keys.n do
    local k = array and idx or keys[idx]  -- an array's keys may not come in order from `next`
    if not array then f_scalar(k, depth) end
    F_path[depth + 1] = k
    f_value(rawget(v, k), depth + 1)
  end
end

function f_value(v, depth)
  local tv = type(v)
  local ns = F_ns + 1
  F_ns = ns
  -- Every value counts, nil and booleans too: a table shared many times (not a cycle) is
  -- walked once per reference, and this walk runs outside any budget.
  if ns > LIMITS.values then error(s_format("more than %d values", LIMITS.values), 0) end
  if tv == "string" or tv == "number" then F_shape[ns] = "v"; f_scalar(v, depth)
  elseif tv == "boolean" then F_shape[ns] = v and "t" or "f"
  elseif tv == "nil" then F_shape[ns] = "n"
  elseif tv == "table" then
    if depth >= LIMITS.depth then error(f_where(depth) .. s_format(": nested deeper than %d", LIMITS.depth), 0) end
    local seen = F_seen[v]
    if seen then error(f_where(depth) .. ": table refers to itself (a cycle)", 0) end
    F_seen[v] = true
    if seen == false then f_again(v, ns, depth); F_seen[v] = false; return end
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
    F_seen[v] = false
  else
    error(f_where(depth) .. ": a " .. tv .. " cannot cross the sandbox boundary", 0)
  end
end

-- Flattens r[i..j] as a list of values: returns the shape, the scalars and their count.
-- Raises a string naming the path of the first value that cannot cross.
local function flatten(r, i, j)
  F_shape, F_out, F_ns, F_no, F_bytes, F_path, F_seen, F_keys = {}, {}, 0, 0, 0, {}, {}, nil
  for idx = i, j do F_path[1] = idx - i + 1; f_value(r[idx], 1) end
  local shape, out, no = t_concat(F_shape, "", 1, F_ns), F_out, F_no
  F_shape, F_out, F_path, F_seen, F_keys = nil, nil, nil, nil, nil
  return shape, out, no
end

local function safe_text(s, max)
  if type(s) ~= "string" then
    if math_type(s) then return tostring(s) end
    return "error object is a " .. type(s) .. " value"
  end
  max = max or 2000
  if #s > max then s = s_sub(s, 1, max) .. "..." end
  if not utf8_len(s) then s = s_gsub(s, "[\128-\255]", "?") end
  return s
end

local function set_limits(limits) LIMITS = limits end

return {build = build_values, flatten = flatten, safe_text = safe_text, set_limits = set_limits}
