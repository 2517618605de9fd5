-- What the journal and shard specs share: their jobs, a corpus of word
-- lines, file sizes, byte-exact comparison of outputs, and the refusal of
-- a journal made with another --set.
local M = {}

-- What every job here shares. Each worker counts its process calls and
-- writes the count to $COUNT_DIR/count-W at shutdown, so a spec sees how many
-- items a run processed. With HOLD=1 and LAST=n in the environment, item n
-- never ends: a run cannot finish before the spec kills it; with FAIL=n
-- item n fails. None of this touches the script's text, which journals bind.
local COMMON = [[
local calls, count_dir = 0, os.getenv("COUNT_DIR")
local hold, last = os.getenv("HOLD"), tonumber(os.getenv("LAST") or "")
local fail = tonumber(os.getenv("FAIL") or "")

local function work(index, n)
  calls = calls + 1
  if hold and index == last then while true do end end
  if index == fail then error("bad item " .. index) end
  local h = 0
  for i = 1, 200 do h = (h * 31 + i + n) % 1000003 end
  return h
end

function shutdown()
  if count_dir then
    local f = assert(io.open(count_dir .. "/count-" .. luaworkq.worker, "w"))
    f:write(calls)
    f:close()
  end
end
]]

M.COMMON = COMMON

-- An empty line has no result.
M.LIST_JOB = COMMON .. [[
function process(line, index)
  local h = work(index, #line)
  if line ~= "" then return {i = index, h = h, line = line} end
end
]]

-- Word counts, the span of indexes folded, whether they were folded in
-- input order, and a polynomial hash of the work's results in order: merge
-- is associative but not commutative.
M.MERGE_JOB = COMMON .. [[
function process(line, index)
  local words = {}
  for w in line:gmatch("%S+") do words[w] = (words[w] or 0) + 1 end
  return {words = words, first = index, last = index, in_order = true,
          h = work(index, #line), p = 31}
end

function merge(a, b)
  for w, n in pairs(b.words) do a.words[w] = (a.words[w] or 0) + n end
  a.in_order = a.in_order and b.in_order and a.last + 1 == b.first
  a.last = b.last
  a.h, a.p = (a.h * b.p + b.h) % 1000003, a.p * b.p % 1000003
  return a
end
]]

-- An index: each line to the index of its last occurrence. The merged
-- value grows with the input (objects of thousands of keys), and a merge
-- out of order would keep an earlier index.
M.INDEX_JOB = COMMON .. [[
function process(line, index)
  work(index, #line)
  return {[line] = index}
end

function merge(a, b)
  for k, v in pairs(b) do a[k] = v end
  return a
end
]]

-- A keyed reduce: each word to the indexes of its lines, concatenated in
-- order (reduce is not commutative), partitioned across the workers.
M.REDUCE_JOB = COMMON .. [[
function process(line, index)
  work(index, #line)
  local t = {}
  for w in line:gmatch("%S+") do t[w] = tostring(index) end
  return t
end

function reduce(a, b) return a .. "," .. b end
]]

M.WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
  "hotel", "india", "juliett", "kilo", "lima", "mike", "november", "oscar"}

-- Writes n lines of 0 to 4 words, drawn by a generator started from seed,
-- to path, and returns path. With tail, the last tail of the n lines go to a second file,
-- path .. ".tail", and both paths are returned: a batch never spans two
-- files, so an item held there never holds back the items before it.
function M.corpus(path, n, tail, seed)
  local f = assert(io.open(path, "wb"))
  local chunk = {}
  seed = seed or 777
  local function next_int(m)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return (seed >> 16) % m
  end
  local split = n - (tail or 0)
  for i = 1, n do
    local words = {}
    for j = 1, next_int(5) do words[j] = M.WORDS[next_int(#M.WORDS) + 1] end
    chunk[#chunk + 1] = table.concat(words, " ")
    if #chunk == 10000 or i == n or i == split then
      f:write(table.concat(chunk, "\n"), "\n")
      chunk = {}
      if i == split and tail then
        f:close()
        f = assert(io.open(path .. ".tail", "wb"))
      end
    end
  end
  f:close()
  if tail then return path, path .. ".tail" end
  return path
end

-- Writes the list job and a corpus of n lines into dir (job.lua,
-- items.txt) and returns the -f ndjson output of one whole run over them:
-- what the recipes' runs on a cluster must give.
function M.whole_run(dir, n)
  local testing = require "luaworkq.testing"
  testing.write_file(dir .. "/job.lua", M.LIST_JOB)
  M.corpus(dir .. "/items.txt", n)
  local r = testing.run{job = dir .. "/job.lua", files = {dir .. "/items.txt"},
                        args = {"-f", "ndjson"}}
  assert(r.code == 0, r.stderr)
  return r.stdout
end

function M.size(path)
  local f = io.open(path, "rb")
  if not f then return 0 end
  local n = f:seek("end")
  f:close()
  return n
end

M.first_line = require("support").first_line

-- Asserts that run r was refused (exit 2, nothing on stdout) because its
-- journal was made with other options, the message naming the --set
-- `setting` and no shard.
function M.refused_for_set(r, setting)
  local assert = require("busted").assert
  assert.are.same({2, ""}, {r.code, r.stdout})
  local line = M.first_line(r.stderr)
  assert.matches("^luaworkq: journal [^\n]* was made with other options: ", line)
  assert.truthy(line:find(setting, 1, true), line)
  assert.falsy(line:find("shard", 1, true), line)
end

-- Asserts that got is expected, byte for byte; a difference is shown as
-- its offset and a little context, not as two whole outputs.
function M.same_bytes(expected, got)
  if expected == got then return end
  local i = 1
  while expected:byte(i) == got:byte(i) do i = i + 1 end
  error(("outputs differ at byte %d of %d (got %d bytes): expected %q, got %q")
    :format(i, #expected, #got, expected:sub(math.max(1, i - 40), i + 40),
            got:sub(math.max(1, i - 40), i + 40)), 2)
end

return M
