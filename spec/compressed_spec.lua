-- Compressed input read as the reference tools read it: zstd files that
-- start with a skippable frame (pzstd writes one before every frame),
-- zstd windows over zstd's default limit and --zstd-long=N, gzip files
-- padded with zero bytes. Every input comes from the gzip, zstd and pzstd
-- commands, and is read from a file and from a pipe on standard input;
-- what the commands themselves accept or refuse is checked first, so that
-- each case tests what it says.
local testing = require "luaworkq.testing"
local support = require "support"

local bin = assert(os.getenv("LUAWORKQ"), "LUAWORKQ is not set")
local q = testing.quote
local lines, sh = support.lines_of, support.sh

-- Each item with its index and where(): the file's base name and line.
local ECHO = [[
function process(item, index)
  local name, line = luaworkq.where()
  return ("%d %s:%d %s"):format(index, name:match("[^/]*$"), line, item)
end
]]

local dir, job
setup(function()
  dir = testing.tmpdir()
  job = testing.write_file(dir .. "/echo.lua", ECHO)
end)
teardown(function() testing.remove_tree(dir) end)

-- n lines of varied length, from `first` on.
local function text(first, n)
  local t = {}
  for i = first, first + n - 1 do t[#t + 1] = ("line %d %s\n"):format(i, ("x"):rep(i % 37)) end
  return table.concat(t)
end

-- What ECHO gives for the lines of text, read from a file named name.
local function echoed(text_, name)
  local want = {}
  for line in text_:gmatch("([^\n]*)\n") do
    want[#want + 1] = ("%d %s:%d %s"):format(#want + 1, name, #want + 1, line)
  end
  return want
end

local function must(cmd)
  assert(os.execute(cmd), cmd)
end

-- Runs luaworkq over file, given as a file and then piped to standard
-- input: returns both runs' {code, stdout lines, first line of stderr}.
local function both(file, args)
  local words = {q(bin), "-f", "lines"}
  for _, a in ipairs(args or {}) do words[#words + 1] = q(a) end
  words[#words + 1] = q(job)
  local cmd = table.concat(words, " ")
  local runs = {}
  for i, how in ipairs({cmd .. " " .. q(file), "cat " .. q(file) .. " | " .. cmd}) do
    local err = dir .. "/stderr"
    local code, out = sh(how .. " 2>" .. q(err))
    runs[i] = {code, lines(out), support.first_line(testing.read_file(err))}
  end
  return runs[1], runs[2]
end

describe("zstd skippable frames", function()
  it("reads a file pzstd wrote, which starts with a skippable frame", function()
    local plain = testing.write_file(dir .. "/p.txt", text(1, 3000))
    local z = dir .. "/p.zst"
    must(("pzstd -q -p 2 -c %s > %s"):format(q(plain), q(z)))
    -- A skippable frame's magic is 0x184D2A50..5F, little-endian.
    local head = testing.read_file(z):sub(1, 4)
    assert.equals(0x50, head:byte(1) & 0xf0)
    assert.equals("\x2a\x4d\x18", head:sub(2))
    local file, piped = both(z)
    assert.are.same({0, echoed(text(1, 3000), "p.zst"), ""}, file)
    assert.are.same({0, echoed(text(1, 3000), "stdin"), ""}, piped)
  end)

  it("skips skippable frames between frames and at the end", function()
    -- Two pzstd files one after the other, then an empty skippable frame
    -- and one of 300 bytes, as zstd -d reads them.
    local a = testing.write_file(dir .. "/a.txt", text(1, 500))
    local b = testing.write_file(dir .. "/b.txt", text(501, 700))
    local z = dir .. "/ab.zst"
    must(("pzstd -q -p 2 -c %s > %s && pzstd -q -p 2 -c %s >> %s"):format(
      q(a), q(z), q(b), q(z)))
    local f = assert(io.open(z, "ab"))
    f:write("\x5e\x2a\x4d\x18\0\0\0\0", "\x51\x2a\x4d\x18\x2c\x01\0\0", ("s"):rep(300))
    f:close()
    local _, out = sh("zstd -dc " .. q(z))
    assert.equals(text(1, 1200), out)
    local file, piped = both(z)
    assert.are.same({0, echoed(text(1, 1200), "ab.zst"), ""}, file)
    assert.are.same({0, echoed(text(1, 1200), "stdin"), ""}, piped)
  end)
end)

describe("zstd windows", function()
  -- zstd compressing a pipe does not know the input's size, so the frame
  -- keeps the whole 2^28 window that --long=28 asks for: a 256 MiB window
  -- in a file of a few bytes (zstd -lv shows it).
  local z, plain
  setup(function()
    plain = text(1, 50)
    z = dir .. "/long.zst"
    must(("printf %%s %s | zstd -q --long=28 > %s"):format(q(plain), q(z)))
  end)

  it("refuses a window over 128 MiB with a message that gives --zstd-long", function()
    local _, info = sh("zstd -lv " .. q(z) .. " 2>&1")
    assert.matches("Window Size: 256 MiB", info, 1, true)
    assert.are_not.equals(0, (sh("zstd -dc " .. q(z) .. " 2>/dev/null")))
    local why = ": zstd window of 256 MiB is over the default limit of 128 MiB: "
      .. "give --zstd-long=28 to read it (as zstd -d --long=28)"
    local file, piped = both(z)
    assert.are.same({2, {}, "luaworkq: cannot read " .. z .. why}, file)
    assert.are.same({2, {}, "luaworkq: cannot read stdin" .. why}, piped)
  end)

  it("reads it with --zstd-long=28, as zstd -d --long=28", function()
    local _, out = sh("zstd -dc --long=28 " .. q(z))
    assert.equals(plain, out)
    local file, piped = both(z, {"--zstd-long=28"})
    assert.are.same({0, echoed(plain, "long.zst"), ""}, file)
    assert.are.same({0, echoed(plain, "stdin"), ""}, piped)
  end)

  it("counts its items for the progress line under --zstd-long=28", function()
    -- The progress line's counter reads the file with a reader of its own:
    -- without the limit it could not, and the line would give no total.
    local slow = testing.write_file(dir .. "/slow.lua", [[
function process(s) local x = 0 for k = 1, 300000 do x = x + k % 7 end return s end]])
    local err = dir .. "/progress"
    local code = sh(("%s --progress --zstd-long=28 -j 1 %s %s >/dev/null 2>%s"):format(
      q(bin), q(slow), q(z), q(err)))
    assert.equals(0, code)
    assert.matches("luaworkq: %d+ of 50 %(", testing.read_file(err))
  end)

  it("refuses it under a lower --zstd-long, saying which option set the limit", function()
    local file = both(z, {"--zstd-long", "27"})
    assert.are.same({2, {}, "luaworkq: cannot read " .. z .. ": zstd window of 256 MiB "
      .. "is over the limit of 128 MiB that --zstd-long=27 sets: give --zstd-long=28 "
      .. "to read it (as zstd -d --long=28)"}, file)
  end)

  it("takes --zstd-long from 10 to 31 only", function()
    for _, n in ipairs({"9", "32", "x", ""}) do
      local r = testing.run{job = job, args = {"--zstd-long=" .. n}}
      assert.are.same({2, "luaworkq: --zstd-long: '" .. n .. "' is not a whole number "
        .. "from 10 to 31\n"}, {r.code, r.stderr})
    end
  end)
end)

describe("gzip zero padding", function()
  it("ignores zero bytes after the last member, as gzip -d does", function()
    local plain = testing.write_file(dir .. "/g.txt", text(1, 2000))
    local z = dir .. "/g.gz"
    must(("gzip -c %s > %s && head -c 512 /dev/zero >> %s"):format(q(plain), q(z), q(z)))
    assert.equals(0, (sh("gzip -t " .. q(z))))
    local file, piped = both(z)
    assert.are.same({0, echoed(text(1, 2000), "g.gz"), ""}, file)
    assert.are.same({0, echoed(text(1, 2000), "stdin"), ""}, piped)
    -- A byte other than zero after the padding is garbage, as before.
    must(("printf x >> %s"):format(q(z)))
    file, piped = both(z)
    assert.are.same({2, "luaworkq: cannot read " .. z .. ": gzip data is corrupt"},
                    {file[1], file[3]})
    assert.are.same({2, "luaworkq: cannot read stdin: gzip data is corrupt"},
                    {piped[1], piped[3]})
  end)
end)
