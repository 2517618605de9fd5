-- --max-record: a record longer than the bound fails as its item, in every
-- record format and from compressed input; with -k the reader drops the
-- rest of it as it reads and the items after it keep their indexes and
-- lines. The job script has a bound of its own.
local testing = require "luaworkq.testing"
local support = require "support"

local bin = assert(os.getenv("LUAWORKQ"), "LUAWORKQ is not set")
local q = testing.quote
local lines = support.lines_of

-- Each item with its index and where() (the file's base name and LINE);
-- CSV/TSV items as their fields joined by "|", NDJSON values as they are.
local ECHO = [[
function process(item, index)
  local name, line = luaworkq.where()
  if type(item) == "table" then item = "[" .. table.concat(item, "|") .. "]" end
  return ("%d %s:%d %s"):format(index, name:match("[^/]*$"), line, item)
end
]]

local dir
support.tmpdir_all(function(path) dir = path end)

local function run(args, input, files)
  local all = {"-f", "lines"}
  for _, a in ipairs(args) do all[#all + 1] = a end
  return testing.run{job_source = ECHO, input = input, files = files, args = all}
end

local function sh(cmd)
  assert(os.execute(cmd), cmd)
end

-- The failure report of item INDEX at SOURCE:LINE under a bound.
local function too_long(index, at, bound)
  return ("luaworkq: item %d (%s) failed: record longer than the --max-record bound of %s\n")
    :format(index, at, bound)
end

describe("a record longer than --max-record", function()
  local x2000, xn1000 = ("x"):rep(2000), ("x\n"):rep(1000)
  -- {format, options, input: two items, a record of 2000 bytes (1000 lines
  -- where the format lets a record hold newlines), two items; the items
  -- around it as ECHO shows them; the long record's LINE}
  local cases = {
    {"lines", {}, "a\nb\r\n" .. x2000 .. "\r\nc\nd", {"1 stdin:1 a", "2 stdin:2 b"},
      {"4 stdin:4 c", "5 stdin:5 d"}, 3},
    {"-0", {"-0"}, "a\0b\0" .. xn1000 .. "\0c\0d\0", {"1 stdin:1 a", "2 stdin:2 b"},
      {"4 stdin:4 c", "5 stdin:5 d"}, 3},
    {"-d without a newline", {"-d", "::"}, "a::b::" .. xn1000 .. "::c::d",
      {"1 stdin:1 a", "2 stdin:2 b"}, {"4 stdin:4 c", "5 stdin:5 d"}, 3},
    {"-d with a newline", {"-d", "\\n--\\n"}, "a\n--\nb\n--\n" .. xn1000 .. "\n--\nc\n--\nd",
      {"1 stdin:1 a", "2 stdin:3 b"}, {"4 stdin:1007 c", "5 stdin:1009 d"}, 5},
    {"--paragraph", {"--paragraph"}, "a\n\nb\n\n\n" .. xn1000 .. "\n\nc\n\nd\n",
      {"1 stdin:1 a", "2 stdin:3 b"}, {"4 stdin:1008 c", "5 stdin:1010 d"}, 6},
    {"--csv, newlines in quotes", {"--csv"}, 'a\nb,1\n"' .. xn1000 .. '",y\nc\r\nd\n',
      {"1 stdin:1 [a]", "2 stdin:2 [b|1]"}, {"4 stdin:1004 [c]", "5 stdin:1005 [d]"}, 3},
    {"--csv, bare CR ends", {"--csv"}, "a\rb\r" .. x2000 .. "\rc\rd\r",
      {"1 stdin:1 [a]", "2 stdin:2 [b]"}, {"4 stdin:4 [c]", "5 stdin:5 [d]"}, 3},
    {"--tsv", {"--tsv"}, "a\tA\r\nb\n" .. x2000 .. "\rc\td\n",
      {"1 stdin:1 [a|A]", "2 stdin:2 [b]"}, {"4 stdin:4 [c|d]"}, 3},
    {"--ndjson-in", {"--ndjson-in"}, '"a"\n\n"b"\n"' .. x2000 .. '"\n"c"\n',
      {"1 stdin:1 a", "2 stdin:3 b"}, {"4 stdin:5 c"}, 4},
  }
  for _, case in ipairs(cases) do
    local name, opts, input, before, after, line = table.unpack(case)

    it("fails as its item with -k, in " .. name .. ", and the items after it keep " ..
       "their indexes and lines", function()
      local args = {"-k", "--max-record", "1K", "-j", "2"}
      for _, a in ipairs(opts) do args[#args + 1] = a end
      local r = run(args, input)
      local want = {}
      for _, l in ipairs(before) do want[#want + 1] = l end
      for _, l in ipairs(after) do want[#want + 1] = l end
      assert.are.same(want, lines(r.stdout))
      assert.equals(1, r.code)
      assert.equals(too_long(3, "stdin:" .. line, "1 KiB")
                    .. ("luaworkq: %d done, 1 failed\n"):format(#want), r.stderr)
    end)

    it("stops the run without -k, in " .. name .. ": nothing after it is run",
      function()
        local args = {"--max-record", "1K"}
        for _, a in ipairs(opts) do args[#args + 1] = a end
        local r = run(args, input)
        assert.equals(1, r.code)
        assert.equals(too_long(3, "stdin:" .. line, "1 KiB"), support.first_line(r.stderr) .. "\n")
        assert.matches("luaworkq: stopped: ", r.stderr, 1, true)
        -- The items before it may have been interrupted by the stop; none
        -- after it was read.
        for _, l in ipairs(lines(r.stdout)) do
          assert.truthy(l == before[1] or l == before[2], l)
        end
      end)
  end

  it("passes a record of exactly the bound and fails one byte more", function()
    local r = run({"-k", "--max-record", "10"}, "0123456789\n0123456789A\nok\n")
    assert.are.same({"1 stdin:1 0123456789", "3 stdin:3 ok"}, lines(r.stdout))
    assert.equals(too_long(2, "stdin:2", "10 bytes") .. "luaworkq: 2 done, 1 failed\n",
                  r.stderr)
  end)

  it("names the file and line of a 50 MB line of zeros, without -k", function()
    local path = dir .. "/zeros.txt"
    sh(("{ printf 'a\\nb\\n'; head -c 50000000 /dev/zero; printf '\\nc\\n'; } > %s"):format(q(path)))
    local r = run({"--max-record", "1M"}, nil, {path})
    assert.equals(1, r.code)
    assert.equals(too_long(3, path .. ":3", "1 MiB"), support.first_line(r.stderr) .. "\n")
    assert.matches("luaworkq: stopped: ", r.stderr, 1, true)
  end)

  it("skips a 200 MB record in a .zst with -k in bounded memory", function()
    local path = dir .. "/zeros.zst"
    sh(("{ printf 'a\\nb\\n'; head -c 200000000 /dev/zero; printf '\\nc\\nd\\n'; } | zstd -q > %s")
      :format(q(path)))
    -- Peak RSS in KB from time(1), written where the run's stderr is not.
    local rss = dir .. "/rss"
    local wrapper = testing.write_file(dir .. "/timed", ("#!/bin/sh\nexec /usr/bin/time -f %%M -o %s %s \"$@\"\n")
      :format(q(rss), q(bin)))
    sh("chmod +x " .. q(wrapper))
    local r = testing.run{bin = wrapper, job_source = ECHO, files = {path},
                          args = {"-f", "lines", "-k", "--max-record", "1M"}}
    assert.are.same({"1 zeros.zst:1 a", "2 zeros.zst:2 b", "4 zeros.zst:4 c", "5 zeros.zst:5 d"},
                    lines(r.stdout))
    assert.equals(too_long(3, path .. ":3", "1 MiB") .. "luaworkq: 4 done, 1 failed\n", r.stderr)
    assert.equals(1, r.code)
    -- Holding the record would take 200 MB at least.
    local kb = tonumber(testing.read_file(rss):match("(%d+)%s*$"))
    assert.truthy(kb < 100 * 1024, kb .. " KB")
  end)

  it("skips a record that runs to the end of a compressed file", function()
    local path = dir .. "/end.gz"
    sh(("{ printf 'a\\n'; head -c 8388608 /dev/zero; } | gzip > %s"):format(q(path)))
    local r = run({"-k", "--max-record", "1M"}, nil, {path})
    assert.are.same({1, "1 end.gz:1 a\n", too_long(2, path .. ":2", "1 MiB")
                     .. "luaworkq: 1 done, 1 failed\n"}, {r.code, r.stdout, r.stderr})
  end)

  it("writes an --errors record without its bytes, and is not journaled: a rerun " ..
     "with a larger bound runs it", function()
    local input = testing.write_file(dir .. "/j.txt", "a\n" .. ("x"):rep(2000) .. "\nb\n")
    local journal, errors = dir .. "/j.journal", dir .. "/j.errors"
    os.remove(journal)
    local r = run({"-k", "--max-record", "1K", "--journal", journal, "--errors", errors},
                  nil, {input})
    assert.are.same({1, "1 j.txt:1 a\n3 j.txt:3 b\n"}, {r.code, r.stdout})
    assert.equals('{"error":"record longer than the --max-record bound of 1 KiB","index":2,' ..
                  '"input":"","line":2,"source":"' .. input .. '","traceback":""}\n',
                  testing.read_file(errors))
    r = run({"-k", "--journal", journal}, nil, {input})
    assert.are.same({0, "", "1 j.txt:1 a\n2 j.txt:2 " .. ("x"):rep(2000) .. "\n3 j.txt:3 b\n"},
                    {r.code, r.stderr, r.stdout})
  end)

  it("refuses a header record longer than the bound with exit 2", function()
    local r = run({"--csv", "--header", "--max-record", "8"}, "a_long_name,b\n1,2\n")
    assert.equals(2, r.code)
    assert.matches("stdin: the header record is longer than the --max-record bound of 8 bytes",
                   r.stderr, 1, true)
  end)
end)

describe("--max-record SIZE", function()
  local refused = {"1X", "1MB", "M", "0", "-1", "1.5M", "2000G", ""}
  for _, size in ipairs(refused) do
    it("refuses '" .. size .. "' with exit 2", function()
      local r = run({"--max-record", size}, "a\n")
      assert.equals(2, r.code)
      assert.matches("--max-record: '" .. size .. "' is not a size", r.stderr, 1, true)
      assert.equals("", r.stdout)
    end)
  end

  -- {SIZE, the bound a record of 3073 bytes is too long for, or nil}
  local taken = {{"2k", "2 KiB"}, {"3KiB", "3 KiB"}, {"1500", "1500 bytes"}, {"1M"}, {"1G"}}
  for _, case in ipairs(taken) do
    it("takes " .. case[1] .. (case[2] and " as " .. case[2] or ""), function()
      local long = ("x"):rep(3073)
      local r = run({"-k", "--max-record", case[1]}, "a\n" .. long .. "\n")
      if case[2] then
        assert.are.same({1, "1 stdin:1 a\n",
                         too_long(2, "stdin:2", case[2]) .. "luaworkq: 1 done, 1 failed\n"},
                        {r.code, r.stdout, r.stderr})
      else
        assert.are.same({0, "1 stdin:1 a\n2 stdin:2 " .. long .. "\n", ""},
                        {r.code, r.stdout, r.stderr})
      end
    end)
  end
end)

describe("the job script", function()
  it("is refused when it never ends (/dev/zero), naming it and the bound", function()
    local r = testing.run{job = "/dev/zero", input = "a\n"}
    assert.equals(2, r.code)
    assert.equals("luaworkq: cannot load /dev/zero: longer than 64 MiB, the bound on a job script\n",
                  r.stderr)
  end)

  it("is refused when longer than 64 MiB, before it is read", function()
    local job = dir .. "/huge.lua"
    sh(("truncate -s 65M %s"):format(q(job)))
    local r = testing.run{job = job, input = "a\n"}
    assert.equals(2, r.code)
    assert.equals("luaworkq: cannot load " .. job .. ": longer than 64 MiB, the bound on a job script\n",
                  r.stderr)
  end)
end)
