-- A group-by over a CSV: rows, total and mean of a column per category.
--   luaworkq --csv --header scripts/examples/csv-groupby.lua scripts/examples/data/sales.csv
-- --set column=NAME picks the numeric column (units or price; default price),
-- --set by=NAME the category (date, region or product; default product).
local COLUMN = luaworkq.args.column or "price"
local BY = luaworkq.args.by or "product"

-- Totals are kept as integers of hundredths: integer addition is
-- associative, so they are the same whatever -j (float sums are not).
function process(row)
  local x = tonumber(row[COLUMN])
  if not x then error(("column %s is not a number: %s"):format(COLUMN, row[COLUMN]), 0) end
  return {[row[BY]] = {rows = 1, cents = math.floor(x * 100 + 0.5)}}
end

function reduce(a, b)
  return {rows = a.rows + b.rows, cents = a.cents + b.cents}
end

-- Once per category, in the workers.
function finish(category, t)
  return {rows = t.rows, total = t.cents / 100, mean = t.cents / 100 / t.rows}
end
