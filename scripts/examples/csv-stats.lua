-- CSV statistics: count, min, max, mean of a column, and rows per category.
--   luaworkq --set column=price scripts/examples/csv-stats.lua scripts/examples/data/sales.csv
-- --set column=NAME picks the numeric column (units or price; default price),
-- --set by=NAME the category column (date, region or product; default region).

-- The job is written for one layout of file: it checks the header line
-- against it, so a CSV with other columns fails at once instead of giving
-- wrong numbers. Fields are split at commas; quoted fields are not handled.
local HEADER = "date,region,product,units,price"
local NAMES, COLUMNS = {}, {}                    -- index -> name, name -> index
for name in HEADER:gmatch("[^,]+") do
  NAMES[#NAMES + 1] = name
  COLUMNS[name] = #NAMES
end

local function column(option, default)
  local name = luaworkq.args[option] or default
  return assert(COLUMNS[name], ("--set %s=%s: no such column"):format(option, name)), name
end
local VALUE, VALUE_NAME = column("column", "price")
local CATEGORY = column("by", "region")

-- Sums are kept as integers of millionths: integer addition is associative,
-- so the mean is the same whatever the grouping, while float addition is
-- not and could change the last digits from one -j to another.
local SCALE = 1000000

function process(line, index)
  if index == 1 then
    if line ~= HEADER then error("unexpected header: " .. line, 0) end
    return nil                                   -- the header is no result
  end
  if line == "" then return nil end
  local fields = {}
  for field in (line .. ","):gmatch("([^,]*),") do fields[#fields + 1] = field end
  local x = tonumber(fields[VALUE])
  if not x then error(("%s is not a number: %q"):format(VALUE_NAME, fields[VALUE] or ""), 0) end
  return {count = 1, min = x, max = x, sum = math.floor(x * SCALE + 0.5),
          categories = {[fields[CATEGORY]] = 1}}
end

function merge(a, b)
  a.count = a.count + b.count
  a.min = math.min(a.min, b.min)
  a.max = math.max(a.max, b.max)
  a.sum = a.sum + b.sum
  for name, n in pairs(b.categories) do
    a.categories[name] = (a.categories[name] or 0) + n
  end
  return a
end

-- The object written: {"column":..., "count":..., "min":..., "max":...,
-- "mean":..., "by":..., "categories":{...}} (keys are written sorted).
function finish(s)
  if not s then return {column = VALUE_NAME, count = 0} end
  return {column = VALUE_NAME, count = s.count, min = s.min, max = s.max,
          mean = s.sum / SCALE / s.count, by = NAMES[CATEGORY],
          categories = s.categories}
end
