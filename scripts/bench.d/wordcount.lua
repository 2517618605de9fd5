-- wordcount workload: per-line counts, folded by merge (as in
-- scripts/examples/wordcount.lua, without its finish).
function process(line)
  local counts = {}
  for word in line:lower():gmatch("%a+") do
    counts[word] = (counts[word] or 0) + 1
  end
  if next(counts) then return counts end
end

function merge(a, b)
  for word, n in pairs(b) do
    a[word] = (a[word] or 0) + n
  end
  return a
end
