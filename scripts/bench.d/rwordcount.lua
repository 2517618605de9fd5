-- rwordcount workload: the wordcount workload written with reduce.
function process(line)
  local counts = {}
  for word in line:lower():gmatch("%a+") do
    counts[word] = (counts[word] or 0) + 1
  end
  if next(counts) then return counts end
end

function reduce(a, b)
  return a + b
end
