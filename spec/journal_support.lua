-- Helpers shared by the journal and shard specs: a corpus of word lines,
-- file sizes, and byte-exact comparison of outputs.
local M = {}

M.WORDS = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
  "hotel", "india", "juliett", "kilo", "lima", "mike", "november", "oscar"}

-- Writes n lines of 0 to 4 words, drawn by a generator started from seed,
-- to path, and returns path. With tail, the last tail of the n lines go to a second file,
-- path .. ".tail", and both paths are returned: a batch never spans two
-- files, so an item held there never holds back the items before it.
function M.corpus(path, n, tail, seed)
  local f = assert(io.open(path, "wb"))
  local chunk = {}
  seed = seed or 777
  local function next_int(m)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return (seed >> 16) % m
  end
  local split = n - (tail or 0)
  for i = 1, n do
    local words = {}
    for j = 1, next_int(5) do words[j] = M.WORDS[next_int(#M.WORDS) + 1] end
    chunk[#chunk + 1] = table.concat(words, " ")
    if #chunk == 10000 or i == n or i == split then
      f:write(table.concat(chunk, "\n"), "\n")
      chunk = {}
      if i == split and tail then
        f:close()
        f = assert(io.open(path .. ".tail", "wb"))
      end
    end
  end
  f:close()
  if tail then return path, path .. ".tail" end
  return path
end

function M.size(path)
  local f = io.open(path, "rb")
  if not f then return 0 end
  local n = f:seek("end")
  f:close()
  return n
end

function M.first_line(s) return s:match("^[^\n]*") end

-- Asserts that got is expected, byte for byte; a difference is shown as
-- its offset and a little context, not as two whole outputs.
function M.same_bytes(expected, got)
  if expected == got then return end
  local i = 1
  while expected:byte(i) == got:byte(i) do i = i + 1 end
  error(("outputs differ at byte %d of %d (got %d bytes): expected %q, got %q")
    :format(i, #expected, #got, expected:sub(math.max(1, i - 40), i + 40),
            got:sub(math.max(1, i - 40), i + 40)), 2)
end

return M
