-- rindex workload: the index workload written with reduce (a keyed
-- reduce): every line maps to its index, the keys partitioned across the
-- workers.
function process(line, i)
  return {[line] = i}
end

function reduce(a, b)
  return b
end
