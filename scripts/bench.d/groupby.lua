-- groupby workload: a CSV group-by (--csv --header): rows, total and mean
-- amount per user, with reduce; the mean made by finish, once per user.
function process(row)
  return {[row.user] = {n = 1, sum = math.tointeger(tonumber(row.amount))}}
end

function reduce(a, b)
  a.n, a.sum = a.n + b.n, a.sum + b.sum
  return a
end

function finish(user, t)
  return {count = t.n, sum = t.sum, mean = t.sum / t.n}
end
