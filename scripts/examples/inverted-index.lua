-- An inverted index: each word to the lines it occurs on, in input order.
--   luaworkq scripts/examples/inverted-index.lua scripts/examples/data/text.txt
-- A keyed reduce: the index grows with the input, so its keys are split
-- among the workers and each worker folds its share (README: Keyed reduce).

function process(line, index)
  local words = {}
  for word in line:lower():gmatch("%a+") do words[word] = {index} end
  return words                           -- word -> {this line}
end

-- Two lists of lines of one word, the earlier first: the later appended.
function reduce(a, b)
  for _, i in ipairs(b) do a[#a + 1] = i end
  return a
end
