-- CSV filter: the rows whose column equals a value, written back as CSV.
--   luaworkq --csv --header -f csv --set column=region --set value=north scripts/examples/csv-filter.lua scripts/examples/data/sales.csv
-- --set column=NAME and --set value=TEXT choose the rows kept (default:
-- region = north). The output has the input's header, in its order, and its
-- quoting: each row is written back as it was read.
local column = luaworkq.args.column or "region"
local value = luaworkq.args.value or "north"

function process(row)
  if row[column] == nil then
    error(("no column %q in %s's header"):format(column, (luaworkq.where())))
  end
  if row[column] == value then return row end
end
