-- Word count: how often each word occurs in the input.
--   luaworkq scripts/examples/wordcount.lua scripts/examples/data/text.txt
-- process counts the words of one line; merge adds two sets of counts.
-- Workers fold their own lines first, so the host merges one table a batch.

function process(line)
  local counts = {}
  for word in line:lower():gmatch("%a+") do
    counts[word] = (counts[word] or 0) + 1
  end
  if next(counts) then return counts end  -- nil: a line without words
end

function merge(a, b)
  for word, n in pairs(b) do
    a[word] = (a[word] or 0) + n
  end
  return a
end

-- The ten most frequent words, most frequent first (ties by word).
function finish(counts)
  local words = {}
  for word, n in pairs(counts or {}) do words[#words + 1] = {word = word, count = n} end
  table.sort(words, function(x, y)
    if x.count ~= y.count then return x.count > y.count end
    return x.word < y.word
  end)
  return {words = #words, top = {table.unpack(words, 1, math.min(10, #words))}}
end
