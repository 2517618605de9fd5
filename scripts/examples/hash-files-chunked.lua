-- File hashes, many files to one sha256sum: hash-files.lua with --chunk.
--   luaworkq --chunk 64 -f ndjson scripts/examples/hash-files-chunked.lua scripts/examples/data/files.txt
-- Also: find . -type f | luaworkq --chunk 64 -j 2 scripts/examples/hash-files-chunked.lua
-- With --chunk N, process gets up to N paths at once and runs one sha256sum
-- on all of them, as `xargs -n N sha256sum` does: one program per N files
-- instead of one per file, which is most of the time when files are small.
-- Its result is the array of the chunk's {path, sha256} records, in the
-- order of the paths: what sha256sum prints, as records (hash-files.lua
-- also gives each file's size, which costs an open of each file here).
-- Paths go to sha256sum as arguments, without a shell, after "--". A file
-- that cannot be read fails its chunk, naming it (sha256sum's message);
-- with -k the other chunks are still hashed.

local exec = luaworkq.exec

function process(paths)
  local argv = {"sha256sum", "--"}
  table.move(paths, 1, #paths, 3, argv)
  local code, out, err = exec(argv)
  if code ~= 0 then error(err, 0) end
  -- One line per path, in order: 64 hex digits, two spaces, the name. A
  -- name with a backslash or a newline makes sha256sum start its line with
  -- "\" and escape the name (which stays on its line). Lines are found with
  -- a plain find, not a pattern, which would test every byte of every name.
  local records, at = {}, 1
  for i = 1, #paths do
    local from = out:byte(at) == 92 and at + 1 or at  -- "\"
    records[i] = {path = paths[i], sha256 = out:sub(from, from + 63)}
    at = (out:find("\n", from + 64, true) or #out) + 1
  end
  return records
end
