-- File hashes: the size and FNV-1a (32-bit) hash of each file named.
--   luaworkq -f ndjson scripts/examples/hash-files.lua scripts/examples/data/files.txt
-- Also: find . -type f | luaworkq -f ndjson scripts/examples/hash-files.lua
-- Each item is a path, relative to the current directory or absolute.
-- Each item waits on the disk, then on the CPU. With several workers, one
-- file is being read while others are hashed, so threads pay off even when
-- items spend their time waiting on I/O. A file that cannot be read fails
-- its item; with -k the others are still hashed.

local BLOCK = 64 * 1024                          -- bytes read at a time
local byte = string.byte

-- FNV-1a over the bytes of s, from the running hash h. h stays below 2^32,
-- so h * prime stays below 2^57 and no integer overflows.
local function fnv1a(h, s)
  for i = 1, #s do
    h = ((h ~ byte(s, i)) * 16777619) & 0xffffffff
  end
  return h
end

function process(path)
  local f = assert(io.open(path, "rb"))          -- fails the item: "x: No such file..."
  local h, size = 2166136261, 0                  -- the FNV-1a offset basis
  while true do
    local block = f:read(BLOCK)
    if not block then break end
    h = fnv1a(h, block)
    size = size + #block
  end
  f:close()
  return {path = path, bytes = size, fnv1a = ("%08x"):format(h)}
end
