-- The one-state reference: runs a luaworkq job script in plain lua5.4 over
-- standard input in an io.lines loop, writing with cjson.
--   lua5.4 ref.lua JOB.lua list|fold [KEY=VALUE ...] < items
-- list: one cjson line per non-nil result (luaworkq -f ndjson);
-- fold: results folded with the job's merge, one cjson document.
-- Also the per-block program of the GNU parallel --pipe peer.
local cjson = require "cjson"
local job, mode = arg[1], arg[2]
assert(job and (mode == "list" or mode == "fold"), "usage: ref.lua JOB.lua list|fold [KEY=VALUE ...]")
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
local process, merge, encode = process, merge, cjson.encode
local out = io.stdout
out:setvbuf("full", 1 << 16)

local i = 0
if mode == "list" then
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
