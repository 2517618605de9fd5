-- The one-state reference: runs a luaworkq job script in plain lua5.4 over
-- standard input in an io.lines loop, writing with cjson.
--   lua5.4 ref.lua JOB.lua list|fold [KEY=VALUE ...] < items
-- list: one cjson line per non-nil result (luaworkq -f ndjson);
-- fold: results folded with the job's merge, one cjson document;
-- reduce: results (tables of key -> value) folded key by key with the
-- job's reduce, then finish(key, value) on each key, one cjson document;
-- reduce-csv: the same over a CSV with a header line (the items are its
-- rows as tables of column -> field; fields hold no commas or quotes).
-- Also the per-block program of the GNU parallel --pipe peer.
local cjson = require "cjson"
local job, mode = arg[1], arg[2]
local MODES = {list = true, fold = true, reduce = true, ["reduce-csv"] = true}
assert(job and MODES[mode], "usage: ref.lua JOB.lua list|fold|reduce|reduce-csv [KEY=VALUE ...]")
local args = {}
for i = 3, #arg do
  local k, v = arg[i]:match("^([^=]+)=(.*)$")
  args[k] = v
end
luaworkq = {args = args, worker = 1, workers = 1, version = "ref", null = cjson.null,
            log = function(s) io.stderr:write(s, "\n") end}
dofile(job)
if setup then luaworkq.shared = setup() end   -- the job's own tables, not a view
if init then init(luaworkq.shared) end
local process, merge, reduce, finish, encode = process, merge, reduce, finish, cjson.encode
local out = io.stdout
out:setvbuf("full", 1 << 16)

-- The items of reduce-csv: each line after the header as a row table.
local function rows()
  local lines = io.lines()
  local names = {}
  for name in lines():gmatch("[^,]+") do names[#names + 1] = name end
  return function()
    local line = lines()
    if not line then return nil end
    local row, k = {}, 0
    for field in line:gmatch("[^,]*") do k = k + 1; row[names[k]] = field end
    return row
  end
end

local i = 0
if mode == "reduce" or mode == "reduce-csv" then
  local acc = {}
  for item in mode == "reduce" and io.lines() or rows() do
    i = i + 1
    local r = process(item, i)
    if r ~= nil then
      for k, v in pairs(r) do
        local old = acc[k]
        if old == nil then acc[k] = v else acc[k] = reduce(old, v) end
      end
    end
  end
  if finish then
    for k, v in pairs(acc) do acc[k] = finish(k, v) end
  end
  out:write(encode(acc), "\n")
elseif mode == "list" then
  for line in io.lines() do
    i = i + 1
    local r = process(line, i)
    if r ~= nil then out:write(encode(r), "\n") end
  end
else
  local acc
  for line in io.lines() do
    i = i + 1
    local r = process(line, i)
    if r ~= nil then
      if acc == nil then acc = r else acc = merge(acc, r) end
    end
  end
  out:write(acc == nil and "null" or encode(acc), "\n")
end
out:flush()
