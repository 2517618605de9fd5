-- Last stage of the GNU parallel peer for fold workloads: reads one JSON
-- document per line (each block's folded result) and folds them with the
-- job's merge.   lua5.4 fold.lua JOB.lua [KEY=VALUE ...] < documents
local cjson = require "cjson"
local job = arg[1]
local args = {}
for i = 2, #arg do
  local k, v = arg[i]:match("^([^=]+)=(.*)$")
  args[k] = v
end
luaworkq = {args = args, worker = 0, workers = 1, version = "ref", null = cjson.null}
dofile(job)
local acc
for line in io.lines() do
  local r = cjson.decode(line)
  if r ~= cjson.null then
    if acc == nil then acc = r else acc = merge(acc, r) end
  end
end
io.write(acc == nil and "null" or cjson.encode(acc), "\n")
