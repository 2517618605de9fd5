-- memory workload: every line comes back as it is.
function process(item)
  return item
end
