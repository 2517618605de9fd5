-- File hashes: the size and SHA-256 of each file named, by sha256sum.
--   luaworkq -f ndjson scripts/examples/hash-files.lua scripts/examples/data/files.txt
-- Also: find . -type f | luaworkq -f ndjson scripts/examples/hash-files.lua
-- Each item is a path, relative to the current directory or absolute. It is
-- handed to sha256sum as one argument, without a shell: spaces, quotes, `$`
-- and a leading dash in a name need no quoting. Items wait on a program and
-- the disk, so more workers than CPUs pay off. A file that cannot be read
-- fails its item; with -k the others are still hashed.

local exec = luaworkq.exec

function process(path)
  local f = assert(io.open(path, "rb"))          -- fails the item: "x: No such file..."
  local size = f:seek("end")
  f:close()
  -- "--": a path that starts with a dash is a file name, not an option.
  local code, out, err = exec({"sha256sum", "--", path})
  if code ~= 0 then error(err, 0) end
  -- A name with a backslash or a newline makes sha256sum start with "\".
  return {path = path, bytes = size, sha256 = out:match("^\\?(%x+)")}
end
