-- Record formats (-0, -d, --paragraph, --csv, --tsv, --header), compressed
-- inputs, inputs of every kind (FIFOs, process substitution), options
-- anywhere on the command line and luaworkq.where(). CSV is checked against
-- Python's csv module, compressed input against the gzip, xz and zstd
-- commands.
local testing = require "luaworkq.testing"
local support = require "support"

local bin = assert(os.getenv("LUAWORKQ"), "LUAWORKQ is not set")
local q = testing.quote

-- Each item with its index and where() (the file's base name and LINE);
-- bytes outside printable ASCII as \xHH; CSV/TSV items as their fields
-- joined by "|", or "key=value" pairs sorted by key with a header.
local ECHO = [[
local function show(s)
  return (s:gsub("[^\32-\126]", function(c) return ("\\x%02X"):format(c:byte()) end))
end
function process(item, index)
  local name, line = luaworkq.where()
  if type(item) == "table" then
    local parts = {}
    for k, v in pairs(item) do parts[#parts + 1] = {tostring(k), show(v)} end
    table.sort(parts, function(a, b) return a[1] < b[1] end)
    for i, p in ipairs(parts) do
      parts[i] = (#item == #parts and "" or p[1] .. "=") .. p[2]
    end
    item = "[" .. table.concat(parts, "|") .. "]"
  end
  return ("%d %s:%d %s"):format(index, name:match("[^/]*$"), line, show(item))
end
]]

-- Every item as a JSON array of its fields, as Python's json writes them.
local FIELDS = "function process(r) return luaworkq.array(r) end"

local dir
support.tmpdir_all(function(path) dir = path end)

local function run(args, input, files, job)
  local all = {"-f", "lines"}
  for _, a in ipairs(args) do all[#all + 1] = a end
  return testing.run{job_source = job or ECHO, input = input, files = files, args = all}
end

local lines = support.lines_of

local python = support.python

local function sh(cmd)
  local ok = os.execute(cmd)
  assert(ok, cmd)
end

describe("record formats", function()
  -- {what the user does, options, input, items as ECHO shows them}
  local cases = {
    {"gives -0: NUL ends an item, newlines are kept", {"-0"}, "a\nb\0c\0",
      {"1 stdin:1 a\\x0Ab", "2 stdin:2 c"}},
    {"gives -d with a multi-byte delimiter", {"-d", "::"}, "a::b:c::::d",
      {"1 stdin:1 a", "2 stdin:2 b:c", "3 stdin:3 ", "4 stdin:4 d"}},
    {"gives -d: a delimiter at the very end adds no empty item", {"-d", ";"}, "a;b;",
      {"1 stdin:1 a", "2 stdin:2 b"}},
    {"gives -d with escapes", {"-d", "\\t\\x2C\\\\"}, "a\t,\\b\t,\\",
      {"1 stdin:1 a", "2 stdin:2 b"}},
    {"gives -d with \\0", {"--delimiter", "\\0"}, "a\0b", {"1 stdin:1 a", "2 stdin:2 b"}},
    {"gives -d with a newline: LINE is the line the item starts on",
      {"-d", "\\n--\\n"}, "a\nb\n--\nc\n--\n", {"1 stdin:1 a\\x0Ab", "2 stdin:4 c"}},
    {"gives --paragraph: blank lines separate items, inner newlines stay",
      {"--paragraph"}, "\n\nPackage: a\nVersion: 1\n\n\n\nPackage: b\n\n",
      {"1 stdin:3 Package: a\\x0AVersion: 1", "2 stdin:8 Package: b"}},
    {"gives --paragraph: a last block without a newline is an item",
      {"--paragraph"}, "a\n\nb\nc", {"1 stdin:1 a", "2 stdin:3 b\\x0Ac"}},
    {"gives --paragraph: only blank lines are no items", {"--paragraph"}, "\n\n\n", {}},
    {"gives --csv: items are arrays of fields", {"--csv"},
      'a,b\r\n"x, ""y""",\n\n"multi\nline",z\n',
      {"1 stdin:1 [a|b]", '2 stdin:2 [x, "y"|]', "3 stdin:3 []",
       "4 stdin:4 [multi\\x0Aline|z]"}},
    {"gives --tsv: fields split on tabs, quotes are bytes", {"--tsv"},
      'a\t"b"\t\r\nc\n', {'1 stdin:1 [a|"b"|]', "2 stdin:2 [c]"}},
    {"gives --csv --header: items are keyed by the first record's names",
      {"--csv", "--header"}, 'id,name\n1,"A, a"\n2,B,extra\n3\n',
      {"1 stdin:2 [id=1|name=A, a]", "2 stdin:3 [3=extra|id=2|name=B]",
       "3 stdin:4 [id=3]"}},
    {"gives --tsv --header", {"--tsv", "--header"}, "k\tv\nx\ty\n",
      {"1 stdin:2 [k=x|v=y]"}},
    {"gives --csv --header a file Excel saved as CSV UTF-8: the BOM is not data",
      {"--csv", "--header"}, "\239\187\191id,name\r\n1,a\r\n2,b\r\n",
      {"1 stdin:2 [id=1|name=a]", "2 stdin:3 [id=2|name=b]"}},
    {"gives --csv: a BOM without --header is not data either", {"--csv"},
      "\239\187\191\"a\",b\n", {"1 stdin:1 [a|b]"}},
    {"gives --csv with bare CR line ends: CR ends a record, but not in quotes",
      {"--csv"}, 'id,name\r1,"x\ry"\r\r2,b', {"1 stdin:1 [id|name]", "2 stdin:2 [1|x\\x0Dy]",
      "3 stdin:3 []", "4 stdin:4 [2|b]"}},
    {"gives --csv --header with bare CR line ends", {"--csv", "--header"},
      "id,name\r1,a\r2,b\r", {"1 stdin:2 [id=1|name=a]", "2 stdin:3 [id=2|name=b]"}},
    {"gives --tsv --header with a BOM and bare CR line ends", {"--tsv", "--header"},
      "\239\187\191k\tv\rx\ty\r\nz\tw", {"1 stdin:2 [k=x|v=y]", "2 stdin:3 [k=z|v=w]"}},
  }
  for _, case in ipairs(cases) do
    it(case[1], function()
      local r = run(case[2], case[3])
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.are.same(case[4], lines(r.stdout))
    end)
  end

  it("gives --header over two files: each file's first record names its fields",
    function()
      local a = testing.write_file(dir .. "/a.csv", "x,y\n1,2\n")
      local b = testing.write_file(dir .. "/b.csv", "y,x\n3,4\n5,6\n")
      local r = run({"--csv", "--header"}, nil, {a, b})
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.are.same({"1 a.csv:2 [x=1|y=2]", "2 b.csv:2 [x=4|y=3]", "3 b.csv:3 [x=6|y=5]"},
                      lines(r.stdout))
    end)

  it("reports a failing record with the line it starts on", function()
    local job = [[function process(r, i) if i == 2 then error("bad " .. r[1]) end end]]
    local r = run({"--csv", "-k"}, 'a\n"b\nb",c\nd\n', nil, job)
    assert.equals(1, r.code)
    assert.matches("item 2 %(stdin:2%) failed: [^\n]*bad b\nb", r.stderr)
  end)

  local refused = {
    {"gives two record formats", {"--csv", "-0"}, "two record formats"},
    {"gives --header without --csv or --tsv", {"--header"}, "--header goes with"},
    {"gives --ndjson-in with --csv", {"--ndjson-in", "--csv"}, "cannot go with"},
    {"gives -d an unknown escape", {"-d", "\\q"}, "unknown escape"},
    {"gives -d an empty delimiter", {"-d", ""}, "empty"},
  }
  for _, case in ipairs(refused) do
    it("refuses what a user " .. case[1] .. " with exit 2", function()
      local r = run(case[2], "a\n")
      assert.equals(2, r.code)
      assert.matches(case[3], r.stderr, 1, true)
    end)
  end
end)

describe("CSV against Python's csv module", function()
  -- Records made to be hard: quotes, "" escapes, commas and newlines in
  -- fields, CRLF and LF ends, empty fields and lines, a quote inside an
  -- unquoted field, text after a closing quote; enough of them that read
  -- boundaries fall inside quoted fields, and one field larger than the read
  -- buffer.
  local GEN = [[
import random, sys
r = random.Random(11)
pieces = ['a', 'b c', ',', '"', '""', '\n', '\r\n', 'x' * 40, '', ' ']
ends = ['\n', '\r\n']
if sys.argv[1:] == ['cr']:   # bare CR too: ending records, and in quotes
    pieces.append('\r')
    ends.append('\r')
out = []
for i in range(60000):
    fields = []
    for j in range(r.randint(0, 5)):
        f = ''.join(r.choice(pieces) for _ in range(r.randint(0, 4)))
        if any(c in f for c in ',"\r\n') or r.random() < 0.3:
            f = '"' + f.replace('"', '""') + '"'
        fields.append(f)
    out.append(','.join(fields) + r.choice(ends))
    if i == 30000:
        out.append('big,"' + 'y"",\n' * 600000 + '"\n')
    if i % 997 == 0:
        out.append('a"b,"q"tail,c\n')
sys.stdout.write(''.join(out))
]]
  local READ = [[
import csv, json, sys
with open(sys.argv[1], newline='') as f:
    csv.field_size_limit(1 << 30)
    rows = list(csv.reader(f))
sys.stdout.write(''.join(json.dumps(r, separators=(',', ':')) + '\n' for r in rows))
]]
  local DICTS = [[
import csv, json, sys
out = []
for path in sys.argv[1:]:
    with open(path, newline='') as f:
        out += [json.dumps(d, separators=(',', ':'), sort_keys=True) for d in csv.DictReader(f)]
sys.stdout.write(''.join(o + '\n' for o in out))
]]
  local path, expected
  setup(function()
    path = dir .. "/hard.csv"
    testing.write_file(path, python(GEN))
    expected = python(READ, path)
  end)

  it("gives the same records from a file", function()
    local r = run({"--csv", "-f", "ndjson", "-j", "2"}, nil, {path}, FIELDS)
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.equals(expected, r.stdout)
  end)

  -- The records of file through a pipe written in pieces of `step` bytes.
  local function piped(file, step)
    local cmd = ("python3 -c %s < %s | %s --csv -f ndjson %s"):format(
      q("import sys\nd=sys.stdin.buffer.read()\nfor i in range(0,len(d)," .. step .. "):\n"
        .. " sys.stdout.buffer.write(d[i:i+" .. step .. "]); sys.stdout.flush()"),
      q(file), q(bin), q(testing.write_file(dir .. "/fields.lua", FIELDS)))
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    assert(p:close())
    return out
  end

  it("gives the same records from a pipe written in odd-sized pieces", function()
    assert.equals(expected, piped(path, 4093))
  end)

  it("gives the same records with bare CR line ends, from a file and from a pipe " ..
     "whose pieces split CR LF", function()
    local cr = testing.write_file(dir .. "/cr.csv", python(GEN, "cr"))
    local want = python(READ, cr)
    assert.truthy(select(2, want:gsub("\n", "")) > 50000)
    local r = run({"--csv", "-f", "ndjson", "-j", "2"}, nil, {cr}, FIELDS)
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.equals(want, r.stdout)
    assert.equals(want, piped(cr, 1021))
  end)

  it("gives DictReader's records with --header, over two files", function()
    local a = testing.write_file(dir .. "/h1.csv", 'n,"x,y",z\r\n1,"2\n3",4\n5,,\n')
    local b = testing.write_file(dir .. "/h2.csv", 'z,n\n"a""b",c\n')
    local job = "function process(r) return r end"
    local r = run({"--csv", "--header", "-f", "ndjson"}, nil, {a, b}, job)
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.equals(python(DICTS, a, b), r.stdout)
  end)
end)

describe("compressed input", function()
  local plain, want
  setup(function()
    local t = {}
    for i = 1, 50000 do t[i] = ("line %d %s"):format(i, ("z"):rep(i % 50)) end
    plain = testing.write_file(dir .. "/plain.txt", table.concat(t, "\n") .. "\n")
    want = run({}, nil, {plain}).stdout:gsub("plain%.txt", "F")
  end)

  for _, tool in ipairs({{"gzip", "gz"}, {"xz", "xz"}, {"zstd -q", "zst"}}) do
    it("reads " .. tool[1] .. " from a file and from standard input", function()
      local z = dir .. "/plain.txt." .. tool[2]
      sh(("%s -c %s > %s"):format(tool[1], q(plain), q(z)))
      local r = run({"-j", "3"}, nil, {z})
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.equals(want, (r.stdout:gsub("plain%.txt%." .. tool[2], "F")))
      r = run({}, testing.read_file(z))
      assert.equals(want, (r.stdout:gsub("stdin", "F")))
    end)
  end

  it("reads concatenated gzip members as one stream", function()
    local z = dir .. "/two.gz"
    sh(("printf 'a\\nb' | gzip > %s && printf '\\nc\\n' | gzip >> %s"):format(q(z), q(z)))
    assert.are.same({"1 two.gz:1 a", "2 two.gz:2 b", "3 two.gz:3 c"},
                    lines(run({}, nil, {z}).stdout))
  end)

  it("reads compressed CSV", function()
    local z = dir .. "/c.csv.zst"
    sh(("printf 'k,v\\n1,\"a\\nb\"\\n' | zstd -q > %s"):format(q(z)))
    assert.are.same({"1 c.csv.zst:2 [k=1|v=a\\x0Ab]"},
                    lines(run({"--csv", "--header"}, nil, {z}).stdout))
  end)

  -- A read that the end of the stream fills exactly used to be taken for
  -- truncated data (xz never was: its codec says the end again).
  for _, tool in ipairs({{"gzip", "gz"}, {"zstd -q", "zst"}}) do
    it("reads " .. tool[1] .. " data of exactly 1 MiB, as long as a read", function()
      local mib = testing.write_file(dir .. "/mib", (("x"):rep(1023) .. "\n"):rep(1024))
      local z = mib .. "." .. tool[2]
      sh(("%s -c %s > %s"):format(tool[1], q(mib), q(z)))
      local r = run({"--stats"}, nil, {z}, "function process() end")
      assert.are.same({0, "", "luaworkq: 1024 done, 0 failed"},
                      {r.code, r.stdout, support.last_line(r.stderr)})
    end)
  end

  it("drops the BOM at the start of each file, compressed or not, with --csv --header",
    function()
      local z = dir .. "/bom.csv.gz"
      sh(("printf '\\357\\273\\277id,n\\r1,a\\r' | gzip > %s"):format(q(z)))
      local plain = testing.write_file(dir .. "/bom.csv", "\239\187\191n,id\n2,b\n")
      local r = run({"--csv", "--header"}, nil, {z, plain})
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.are.same({"1 bom.csv.gz:2 [id=1|n=a]", "2 bom.csv:2 [id=b|n=2]"}, lines(r.stdout))
    end)

  it("fails truncated or corrupt data with exit 2 and a message", function()
    local z = dir .. "/cut.gz"
    sh(("gzip -c %s | head -c 3000 > %s"):format(q(plain), q(z)))
    local r = run({}, nil, {z})
    assert.equals(2, r.code)
    assert.matches("cannot read " .. z:gsub("%p", "%%%0") .. ": gzip data is truncated",
                   r.stderr)
    -- the rest of the file is not known: the run says it stopped, "N+"
    assert.matches("\nluaworkq: stopped: %d+ done, 0 failed, %d+%+ not processed\n$", r.stderr)
    testing.write_file(z, "\31\139\8\0\0\0\0\0\0\3\255\255garbage")
    r = run({}, nil, {z})
    assert.equals(2, r.code)
    assert.matches("gzip data is corrupt", r.stderr, 1, true)
    assert.matches("\nluaworkq: stopped: 0 done, 0 failed, 0%+ not processed\n$", r.stderr)
  end)

  it("keeps a file shorter than a magic number as it is", function()
    assert.are.same({"1 stdin:1 \\x1F"}, lines(run({}, "\31").stdout))
  end)
end)

describe("inputs of every kind", function()
  it("reads a named FIFO once, losing nothing", function()
    local fifo = dir .. "/fifo"
    sh("mkfifo " .. q(fifo))
    sh(("(seq 1 20000 > %s) &"):format(q(fifo)))
    local r = run({}, nil, {fifo}, "function process(s) return s end")
    -- Unblocks the writer if the run never opened the FIFO.
    os.execute(("dd if=%s iflag=nonblock of=/dev/null 2>/dev/null"):format(q(fifo)))
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.equals(20000, #lines(r.stdout))
    assert.equals("20000", lines(r.stdout)[20000])
  end)

  it("reads process substitution", function()
    local job = testing.write_file(dir .. "/id.lua", "function process(s) return s end")
    local p = assert(io.popen(("bash -c %s"):format(
      q(("%s -f lines %s <(seq 3) <(printf 'x\\n' | gzip)"):format(q(bin), q(job))))))
    local out = p:read("a")
    assert(p:close())
    assert.equals("1\n2\n3\nx\n", out)
  end)

  it("refuses a missing file before reading any", function()
    local r = run({}, nil, {dir .. "/missing"})
    assert.equals(2, r.code)
    assert.matches("cannot open .*missing", r.stderr)
  end)
end)

describe("the command line", function()
  local items
  setup(function() items = testing.write_file(dir .. "/items.txt", "a\nb\n") end)

  local function shell(words)
    local p = assert(io.popen(table.concat(words, " ") .. " 2>&1; echo \"exit $?\""))
    local out = p:read("a")
    p:close()
    return out
  end

  it("takes options after the job and the items", function()
    local job = testing.write_file(dir .. "/job.lua", "function process(s) return s end")
    assert.equals("a\nb\nexit 0\n",
                  shell({q(bin), q(job), q(items), "-j", "2", "-f", "lines", "--no-progress"}))
  end)

  it("ends options at --: what follows is an item file even if it looks like one",
    function()
      local job = testing.write_file(dir .. "/job.lua", "function process(s) return s end")
      testing.write_file(dir .. "/-k", "x\n")
      local cmd = "cd " .. q(dir) .. " && " .. q(bin)
      assert.equals("x\nexit 0\n", shell({cmd, "-f", "lines", "job.lua", "--", "-k"}))
    end)
end)

describe("every format, whatever -j, resumed or sharded", function()
  -- Fails the item FAIL_AT names, so that a journal holds a part of a run.
  local JOB = [[
function process(item, i)
  if os.getenv("FAIL_AT") == tostring(i) then error("asked to fail") end
  local name, line = luaworkq.where()
  return {i = i, at = name:match("[^/]*$") .. ":" .. line, item = item}
end]]
  local formats = {
    {"lines", {}, function(i) return ("item %d\r\n"):format(i) end},
    {"-0", {"-0"}, function(i) return ("item\n%d\0"):format(i) end},
    {"-d", {"-d", "<>"}, function(i) return ("it\nem %d<>"):format(i) end},
    {"--paragraph", {"--paragraph"}, function(i) return ("K: %d\nV: x\n\n\n"):format(i) end},
    {"--csv", {"--csv"}, function(i) return ('%d,"a\n""b"""\r\n'):format(i) end},
    {"--csv --header", {"--csv", "--header"}, function(i)
      return (i == 1 and "n,s\n" or "") .. ('%d,"x,%d"\n'):format(i, i) end},
    {"--tsv --header", {"--tsv", "--header"}, function(i)
      return (i == 1 and "n\ts\n" or "") .. ("%d\tx\n"):format(i) end},
    {"--ndjson-in", {"--ndjson-in"}, function(i)
      return (i == 1 and "\239\187\191" or "") .. ('{"n":%d}\n\n'):format(i) end},
  }
  for _, f in ipairs(formats) do
    it(f[1], function()
      local t = {}
      for i = 1, 300 do t[i] = f[3](i) end
      local input = testing.write_file(dir .. "/in", table.concat(t))
      local gz = dir .. "/in.gz"
      sh(("gzip -c %s > %s"):format(q(input), q(gz)))
      local function go(extra, env, files)
        local args = {"-f", "ndjson", "--no-progress"}
        for _, a in ipairs(f[2]) do args[#args + 1] = a end
        for _, a in ipairs(extra) do args[#args + 1] = a end
        return testing.run{job_source = JOB, files = files or {input}, args = args, env = env}
      end
      local one = go({"-j", "1"})
      assert.are.same({0, ""}, {one.code, one.stderr})
      assert.equals(300, #lines(one.stdout))
      assert.equals(one.stdout, go({"-j", "3"}).stdout)
      assert.equals(one.stdout:gsub('"in:', '"F:'),
                    (go({"-j", "2"}, nil, {gz}).stdout:gsub('"in%.gz:', '"F:')))

      local journal = dir .. "/journal"
      os.remove(journal)
      local cut = go({"--journal", journal, "-j", "2"}, {FAIL_AT = "150"})
      assert.equals(1, cut.code)
      local resumed = go({"--journal", journal, "-j", "2"})
      assert.are.same({0, "", one.stdout}, {resumed.code, resumed.stderr, resumed.stdout})

      local parts = {}
      for k = 1, 3 do
        parts[k] = dir .. "/part-" .. k
        os.remove(parts[k])
        assert.equals(0, go({"--shard", k .. "/3", "--journal", parts[k]}).code)
      end
      -- The shards' journals record the format: --merge is given it too.
      local args = {"--merge", "-f", "ndjson"}
      for _, a in ipairs(f[2]) do args[#args + 1] = a end
      local merged = testing.run{job_source = JOB, files = parts, args = args}
      assert.are.same({0, "", one.stdout}, {merged.code, merged.stderr, merged.stdout})
    end)
  end

  it("refuses a journal made with another record format", function()
    local input = testing.write_file(dir .. "/in.csv", "a,b\n")
    local journal = dir .. "/j2"
    os.remove(journal)
    local r = testing.run{job_source = JOB, files = {input}, args = {"--csv", "--journal", journal}}
    assert.equals(0, r.code)
    r = testing.run{job_source = JOB, files = {input}, args = {"--tsv", "--journal", journal}}
    assert.equals(2, r.code)
    assert.matches("separator", r.stderr)
  end)
end)

describe("testing.run", function()
  local cases = {
    {"writes -0 items whole, newlines and all", {"-0"}, {"a\nb", "c"},
      {"1 stdin:1 a\\x0Ab", "2 stdin:2 c"}},
    {"writes -d items with the delimiter", {"-d", "\\t"}, {"a b", "c"},
      {"1 stdin:1 a b", "2 stdin:2 c"}},
    {"writes --paragraph items as blocks", {"--paragraph"}, {"a\nb", "c"},
      {"1 stdin:1 a\\x0Ab", "2 stdin:4 c"}},
    {"writes --csv items given as arrays, quoted as need be", {"--csv"},
      {{"a,b", 'say "hi"', "two\nlines"}, {"x"}},
      {'1 stdin:1 [a,b|say "hi"|two\\x0Alines]', "2 stdin:3 [x]"}},
    {"writes --tsv items given as arrays", {"--tsv"}, {{"a", "b"}},
      {"1 stdin:1 [a|b]"}},
  }
  for _, case in ipairs(cases) do
    it(case[1], function()
      local args = {"-f", "lines"}
      for _, a in ipairs(case[2]) do args[#args + 1] = a end
      local r = testing.run{job_source = ECHO, items = case[3], args = args}
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.are.same(case[4], lines(r.stdout))
    end)
  end

  it("refuses an item that the format would split", function()
    assert.has_error(function() testing.run{job_source = ECHO, items = {"a\nb"}} end)
    assert.has_error(function()
      testing.run{job_source = ECHO, items = {"a\0b"}, args = {"-0"}}
    end)
    assert.has_error(function()
      testing.run{job_source = ECHO, items = {{"a\rb"}}, args = {"--tsv"}}
    end)
    assert.has_error(function()
      testing.run{job_source = ECHO, items = {"a\rb"}, args = {"--tsv"}}
    end)
  end)
end)

describe("the progress line", function()
  -- The terminal is real: script(1) gives the binary a pseudo-tty.
  local JOB = [[
function process(item, i)
  local x = 0
  for k = 1, 4000 do x = x + k % 7 end
  return i
end]]
  local function in_terminal(args, file)
    local job = testing.write_file(dir .. "/slow.lua", JOB)
    local words = {q(bin), "-j", "2"}
    for _, a in ipairs(args) do words[#words + 1] = q(a) end
    words[#words + 1] = q(job)
    words[#words + 1] = q(file)
    local cmd = table.concat(words, " ") .. " > /dev/null"
    local p = assert(io.popen("script -qec " .. q(cmd) .. " /dev/null"))
    local tty = p:read("a")
    p:close()
    return tty
  end

  local t = {}
  for i = 1, 20000 do t[i] = ("Package: p%d\nStatus: ok\n"):format(i) end
  local cases = {
    {"counts paragraphs of a regular file", {"--paragraph"}, table.concat(t, "\n"), ""},
    {"counts the records of a compressed file", {"--paragraph"}, table.concat(t, "\n"), "gz"},
    {"counts CSV records, not lines, without the header", {"--csv", "--header"},
      "a,b\n" .. ('1,"x\ny"\n'):rep(20000), ""},
  }
  for _, case in ipairs(cases) do
    it(case[1], function()
      local file = testing.write_file(dir .. "/records", case[3])
      if case[4] == "gz" then
        sh("gzip -f " .. q(file))
        file = file .. ".gz"
      end
      assert.matches("luaworkq: %d+ of 20000 %(", in_terminal(case[2], file))
    end)
  end
end)

describe("the dpkg-status example", function()
  local root = os.getenv("LUAWORKQ_SRC") or "."
  local job = root .. "/scripts/examples/dpkg-status.lua"
  local status = root .. "/scripts/examples/data/dpkg-status"

  it("counts the sample's installed packages per section, with --paragraph", function()
    -- Computed here on its own: paragraphs cut at blank lines by hand.
    local text = testing.read_file(status)
    local want = {packages = 0, kb = 0, sections = {}}
    for block in (text .. "\n\n"):gmatch("(.-)\n\n+") do
      if block:match("\nStatus: [^\n]*installed\n") then
        local section = block:match("\nSection: ([^\n]*)") or "unknown"
        want.packages = want.packages + 1
        want.kb = want.kb + tonumber(block:match("\nInstalled%-Size: (%d+)") or 0)
        want.sections[section] = (want.sections[section] or 0) + 1
      end
    end
    local r = testing.run{job = job, files = {status}, args = {"--paragraph", "-j", "3"}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.equals(40, want.packages)
    assert.are.same(want, {packages = r.output.packages, kb = r.output.kb,
                           sections = r.output.sections})
    assert.equals(5, #r.output.largest)
    local one = testing.run{job = job, files = {status}, args = {"--paragraph", "-j", "1"}}
    assert.equals(one.stdout, r.stdout)
  end)

  it("passes --check and starts with a usage line", function()
    local r = testing.run{job = job, args = {"--check"}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.matches("^%-%-   luaworkq %-%-paragraph scripts/examples/dpkg%-status%.lua",
                   testing.read_file(job):match("^[^\n]*\n([^\n]*)"))
  end)
end)
