-- Writes a deterministic benchmark input on stdout (own 64-bit LCG, so the
-- bytes do not depend on Lua's math.random).
--   lua5.4 gen.lua cpu|lines|words|skew|unique COUNT [EVERY]
--   cpu:   COUNT integer seeds below 2^30, one per line
--   skew:  as cpu, but every EVERY-th line is "slow SEED" (skew.lua makes
--          those the costly items)
--   unique: COUNT distinct lines of 9..24 characters (the index workload)
--   lines: COUNT short lines of 0..16 letters and digits (empty lines too)
--   words: COUNT lines of 2..9 words from a 2000-word vocabulary (skewed),
--          some capitalised, some followed by punctuation
--   groupby: a CSV of COUNT rows (and a header) user,amount,category: 100k
--          users, integer amounts 1..10000, 8 categories
--   join:  COUNT lines of 3 keys "u%07d" below EVERY (join.lua's data)
local kind, count = arg[1], math.tointeger(tonumber(arg[2]))
assert(kind and count, "usage: gen.lua cpu|lines|words|skew|unique|groupby|join COUNT [EVERY]")

local x = 0x2545F4914F6CDD1D
local function rnd(n)        -- 0 .. n-1
  x = x * 6364136223846793005 + 1442695040888963407
  return (x >> 33) % n
end

local out, buf, nb = io.stdout, {}, 0
out:setvbuf("full", 1 << 16)
local function emit(s)
  nb = nb + 1; buf[nb] = s
  if nb == 4096 then out:write(table.concat(buf, "\n", 1, nb), "\n"); nb = 0 end
end

if kind == "cpu" then
  for _ = 1, count do emit(tostring(rnd(1 << 30))) end
elseif kind == "skew" then
  local every = math.tointeger(tonumber(arg[3])) or error("skew needs EVERY")
  for i = 1, count do
    local seed = tostring(rnd(1 << 30))
    emit(i % every == 0 and "slow " .. seed or seed)
  end
elseif kind == "unique" then
  -- i * an odd constant is a bijection modulo 2^32: the 8 hex digits are
  -- distinct for i < 2^32, the letters after them only vary the length
  for i = 1, count do
    local tail = {}
    for j = 1, rnd(17) do tail[j] = string.char(97 + rnd(26)) end
    emit(string.format("%08x%s", (i * 2654435761) & 0xffffffff, table.concat(tail)))
  end
elseif kind == "groupby" then
  local categories = {"books", "garden", "games", "music", "sport", "tools", "toys", "video"}
  emit("user,amount,category")
  for _ = 1, count do
    emit(("u%d,%d,%s"):format(rnd(100000), 1 + rnd(10000), categories[rnd(8) + 1]))
  end
elseif kind == "lines" then
  local alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
  local t = {}
  for i = 1, 1 << 16 do local k = rnd(#alpha) + 1; t[i] = alpha:sub(k, k) end
  local pool = table.concat(t)
  for _ = 1, count do
    local len, p = rnd(17), rnd(#pool - 16) + 1
    emit(pool:sub(p, p + len - 1))
  end
elseif kind == "words" then
  local vocab = {}
  for i = 1, 2000 do
    local w = {}
    for j = 1, 2 + rnd(9) do w[j] = string.char(97 + rnd(26)) end
    vocab[i] = table.concat(w)
  end
  local punct = {",", ".", ";", "!", "?"}
  local line = {}
  for _ = 1, count do
    local n = 2 + rnd(8)
    for j = 1, n do
      local w = vocab[rnd(2000) * rnd(2000) // 2000 + 1]   -- skewed to the front
      if rnd(20) == 0 then w = w:sub(1, 1):upper() .. w:sub(2) end
      if rnd(10) == 0 then w = w .. punct[rnd(#punct) + 1] end
      line[j] = w
    end
    emit(table.concat(line, " ", 1, n))
  end
elseif kind == "join" then
  local keys = math.tointeger(tonumber(arg[3])) or error("join needs EVERY")
  for _ = 1, count do
    emit(string.format("u%07d u%07d u%07d", rnd(keys), rnd(keys), rnd(keys)))
  end
else
  error("unknown kind " .. kind)
end
if nb > 0 then out:write(table.concat(buf, "\n", 1, nb), "\n") end
