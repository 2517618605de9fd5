-- -f csv and -f tsv: the columns rule, RFC 4180 quoting, TSV's refusals,
-- the messages of rows that cannot be written, the one header line (also
-- resumed, sharded, unordered), merged lists of rows, luaworkq.header(),
-- and what Python's csv module reads back and writes.
local testing = require "luaworkq.testing"
local support = require "support"
local cjson = require "cjson"

local q = testing.quote

local dir
support.tmpdir_all(function(path) dir = path end)

local IDENTITY = "function process(r) return r end"

-- Runs job over input (stdin) with the options args.
local function run(job, input, args, files)
  return testing.run{job_source = job, input = input, args = args, files = files}
end

-- A CSV file in the form -f csv writes: quoted commas, quotes, CR and LF,
-- empty fields, a field with blanks around it, lines ended by "\n".
local TABLE = 'name,qty,note,"a,b"\n' ..
  'apple,3,"red, sweet",x\n' ..
  'pear,,"say ""hi""",\n' ..
  'fig,10,"two\nlines",y\n' ..
  '"cr\rhere",0, padded ,"\n"\n'

describe("-f csv", function()
  it("writes back what --csv --header read, byte for byte, whatever -j", function()
    for _, j in ipairs({"1", "3"}) do
      local r = run(IDENTITY, TABLE, {"--csv", "--header", "-f", "csv", "-j", j})
      assert.are.same({0, "", TABLE}, {r.code, r.stderr, r.stdout})
    end
  end)

  it("writes back what --tsv --header read with -f tsv", function()
    local tsv = "b\ta\tc\n1\tx y\t\n\t\"q\"\t,\n"
    local r = run(IDENTITY, tsv, {"--tsv", "--header", "-f", "tsv"})
    assert.are.same({0, "", tsv}, {r.code, r.stderr, r.stdout})
  end)

  -- {what the user does, job, input, options, output}
  local cases = {
    {"keeps the input header's order, not sorted", IDENTITY, "z,a,m\n1,2,3\n",
      {"--csv", "--header"}, "z,a,m\n1,2,3\n"},
    {"takes the job's global columns before the input's header",
      'columns = {"m", "z"}\nfunction process(r) return {m = r.m, z = r.z} end',
      "z,a,m\n1,2,3\n", {"--csv", "--header"}, "m,z\n3,1\n"},
    {"without columns or a header, takes the first row's keys sorted bytewise",
      "function process(s) return {b = s, a = #s, B = 'x', aa = true} end", "hi\nyou\n",
      {}, "B,a,aa,b\nx,2,true,hi\nx,3,true,you\n"},
    {"writes an array of values in column order",
      'columns = {"n", "word"}\nfunction process(s, i) return {i, s} end', "a\nb\n",
      {}, "n,word\n1,a\n2,b\n"},
    {"writes a missing value and luaworkq.null as empty fields",
      'columns = {"a", "b", "c"}\nfunction process(s) return {b = luaworkq.null, c = s} end',
      "x\n", {}, "a,b,c\n,,x\n"},
    {"writes numbers and booleans as the JSON output writes them",
      'columns = {"i", "f", "g", "h", "t", "u", "m"}\n' ..
      "function process() return {i = 42, f = 1.0, g = 0.1 + 0.2, h = 2.0^53, " ..
      "t = true, u = false, m = math.mininteger} end",
      "x\n", {}, "i,f,g,h,t,u,m\n42,1.0,0.30000000000000004,9007199254740992.0,true,false," ..
      "-9223372036854775808\n"},
    {"quotes a comma, a quote, CR and LF, and nothing else",
      'columns = {"a", "b", "c", "d", "e"}\nfunction process() return ' ..
      '{a = "1,2", b = \'say "hi"\', c = "x\\ry", d = "x\\ny", e = " sp ace\\t"} end',
      "x\n", {}, 'a,b,c,d,e\n"1,2","say ""hi""","x\ry","x\ny", sp ace\t\n'},
    {"quotes the one empty field of a one-column row, as Python's csv does",
      'columns = {"only"}\nfunction process(s) return {only = s ~= "-" and s or nil} end',
      "a\n-\n", {}, 'only\na\n""\n'},
    {"quotes column names as it quotes fields",
      'columns = {"a,b", "c"}\nfunction process() return {"1", "2"} end', "x\n", {},
      '"a,b",c\n1,2\n'},
    {"writes no header and nothing at all when no item gives a row",
      'columns = {"a"}\nfunction process() return nil end', "x\ny\n", {}, ""},
    {"writes the header once, before the first row, when the first items give none",
      "function process(s, i) if i > 5 then return {n = i} end end",
      support.numbers(40), {"-j", "3"}, "n\n" .. support.numbers(40):gsub("^.-\n5\n", "")},
  }
  for _, case in ipairs(cases) do
    it(case[1], function()
      local args = {"-f", "csv"}
      for _, a in ipairs(case[4]) do args[#args + 1] = a end
      local r = run(case[2], case[3], args)
      assert.are.same({0, "", case[5]}, {r.code, r.stderr, r.stdout})
    end)
  end

  it("takes the header of the first input file that has one", function()
    local a = testing.write_file(dir .. "/empty.csv", "")
    local b = testing.write_file(dir .. "/b.csv", "y,x\n1,2\n")
    local c = testing.write_file(dir .. "/c.csv", "x,y\n3,4\n")
    local r = run(IDENTITY, "", {"--csv", "--header", "-f", "csv"}, {a, b, c})
    assert.are.same({0, "", "y,x\n1,2\n4,3\n"}, {r.code, r.stderr, r.stdout})
  end)
end)

describe("-f csv and -f tsv: a row that cannot be written", function()
  -- {what the job returns, options, the message after "failed: "}
  local cases = {
    {'{a = 1, extra = 2}', {"-f", "csv"},
      "result.extra: not a column (the columns are a, b)"},
    {'{a = {1, 2}}', {"-f", "csv"}, "result.a: a table cannot be a CSV field"},
    {'{a = {}}', {"-f", "tsv"}, "result.a: a table cannot be a TSV field"},
    {'{1, 2, 3}', {"-f", "csv"}, "result[3]: past the last column (2 columns)"},
    {'{1, b = 2}', {"-f", "csv"},
      "result.b: a row is an array of values or a table of columns, not both"},
    {'{a = 0/0}', {"-f", "csv"}, "result.a: cannot encode NaN"},
    {'{b = print}', {"-f", "csv"}, "result.b: cannot write a function in a CSV field"},
    {'"a,b"', {"-f", "csv"}, "result: a row is a table of columns or an array, not a string"},
    {'{a = "x\\ty"}', {"-f", "tsv"}, "result.a: a TSV field cannot hold a tab"},
    {'{a = "x\\ry"}', {"-f", "tsv"}, "result.a: a TSV field cannot hold a carriage return"},
    {'{b = "x\\ny"}', {"-f", "tsv"}, "result.b: a TSV field cannot hold a newline"},
  }
  for _, case in ipairs(cases) do
    it("fails the item of " .. case[1] .. " " .. case[2][2] .. ": " .. case[3], function()
      local job = 'columns = {"a", "b"}\nfunction process(s) if s == "bad" then return '
        .. case[1] .. ' end return {a = s} end'
      local args = {"-k"}
      for _, a in ipairs(case[2]) do args[#args + 1] = a end
      local r = run(job, "x\nbad\ny\n", args)
      local sep = case[2][2] == "tsv" and "\t" or ","
      assert.are.same({1, "a" .. sep .. "b\nx" .. sep .. "\ny" .. sep .. "\n"},
                      {r.code, r.stdout})
      assert.equals("luaworkq: item 2 (stdin:2) failed: " .. case[3], support.first_line(r.stderr))
    end)
  end

  it("names the bad key in the --errors record", function()
    local errors = dir .. "/errors.ndjson"
    local r = run('columns = {"a"}\nfunction process() return {b = 1} end', "x\n",
                  {"-f", "csv", "-k", "--errors", errors})
    assert.are.same({1, ""}, {r.code, r.stdout})
    assert.matches('"error":"result.b: not a column %(the columns are a%)"',
                   testing.read_file(errors))
  end)

  it("fails the first row's item when its keys cannot be column names", function()
    local r = run("function process() return {[true] = 1} end", "x\n", {"-f", "csv"})
    assert.are.same({1, ""}, {r.code, r.stdout})
    assert.equals("luaworkq: item 1 (stdin:1) failed: result: a column's name is a string",
                  support.first_line(r.stderr))
  end)

  it("names an array's columns by their positions, as Miller does without a header", function()
    local items = {}
    for i = 1, 11 do items[i] = ("f%d"):format(i) end
    local row = table.concat(items, ",")
    local r = run(IDENTITY, row .. "\n" .. row .. "\n", {"--csv", "-f", "csv"})
    assert.are.same({0, "", "1,2,3,4,5,6,7,8,9,10,11\n" .. row .. "\n" .. row .. "\n"},
                    {r.code, r.stderr, r.stdout})
  end)

  -- {what the job's columns are, the message}
  local refused = {
    {'"a"', "columns: a list of column names, not a string"},
    {'{"a", 2}', "columns[2]: a column's name is a string"},
    {'{}', "columns: no columns"},
    {'{"a", "b", "a"}', 'columns[3]: "a" is a column already'},
    {'{"a", x = "b"}', "columns.x: not a position in the list of names"},
  }
  for _, case in ipairs(refused) do
    it("refuses the job (exit 2) whose columns are " .. case[1], function()
      local r = testing.run{job_source = "columns = " .. case[1] ..
                            "\nfunction process() end", input = "x\n", args = {"-f", "csv"}}
      assert.are.same({2, ""}, {r.code, r.stdout})
      assert.matches(": " .. case[2]:gsub("%p", "%%%0") .. "\n", r.stderr)
    end)
  end

  it("refuses TSV columns that hold a tab", function()
    local r = run('columns = {"a", "b\\tc"}\nfunction process() end', "x\n", {"-f", "tsv"})
    assert.are.same({2, ""}, {r.code, r.stdout})
    assert.matches("columns%[2%]: a TSV field cannot hold a tab", r.stderr)
  end)
end)

describe("-f csv with merge", function()
  local GATHER = "function merge(a, b) for _, r in ipairs(b) do a[#a + 1] = r end return a end\n"

  it("writes the merged list of rows, header first", function()
    local r = run("function process(r) return {r} end\n" .. GATHER, "b,a\n1,2\n3,4\n",
                  {"--csv", "--header", "-f", "csv", "-j", "1"})
    assert.are.same({0, "", "b,a\n1,2\n3,4\n"}, {r.code, r.stderr, r.stdout})
  end)

  it("writes what finish returned, with the first row's keys", function()
    local r = run("function process(s) return {{w = s}} end\n" .. GATHER ..
                  "function finish(all) table.sort(all, function(x, y) return x.w < y.w end)" ..
                  " all[#all + 1] = {w = 'z', n = #all} return all end",
                  "b\nc\na\n", {"-f", "tsv", "-j", "2", "-k"})
    assert.are.same({1, ""}, {r.code, r.stdout})
    assert.equals("luaworkq: finish value[4].n: not a column (the columns are w)",
                  support.first_line(r.stderr))
    r = run("function process(s) return {{w = s}} end\n" .. GATHER ..
            "function finish(all) table.sort(all, function(x, y) return x.w < y.w end)" ..
            " return all end", "b\nc\na\n", {"-f", "tsv", "-j", "2"})
    assert.are.same({0, "", "w\na\nb\nc\n"}, {r.code, r.stderr, r.stdout})
  end)

  it("merges shards' journals with the job's columns, and refuses the input's header " ..
     "that the journals do not hold", function()
    local input = testing.write_file(dir .. "/shards-in.csv", "b,a\n1,2\n3,4\n5,6\n")
    for _, case in ipairs{{"", 1, "", "luaworkq: merged value: its columns would be the " ..
                             "input's header, which the shards' journals do not hold: " ..
                             "define a global `columns`\n"},
                          {'columns = {"a", "b"}\n', 0, "a,b\n2,1\n4,3\n6,5\n", ""}} do
      local source, code, stdout, stderr = table.unpack(case)
      local job = testing.write_file(dir .. "/gather.lua", source ..
        "function process(r) return {r} end\n" .. GATHER)
      local journals = {}
      for k = 1, 2 do
        journals[k] = dir .. "/gather" .. k .. ".journal"
        os.remove(journals[k])
        local r = testing.run{job = job, files = {input},
                              args = {"--csv", "--header", "-f", "csv", "--shard", k .. "/2",
                                      "--journal", journals[k]}}
        assert.equals(0, r.code)
      end
      local r = testing.run{job = job, files = journals,
                            args = {"--csv", "--header", "-f", "csv", "--merge"}}
      assert.are.same({code, stdout, stderr}, {r.code, r.stdout, r.stderr})
    end
  end)

  -- {what the merged value is, the message}
  local bad = {
    {"a number", "function merge(a, b) return a + b end", "function process() return 1 end",
      "merged value: -f csv writes a list of rows, not a number"},
    {"a table of keys", "function merge(a, b) a.n = a.n + b.n return a end",
      "function process() return {n = 1} end",
      "merged value: -f csv writes a list of rows, not a table of other keys"},
    {"a string from finish", GATHER .. "function finish(all) return 'a,b' end",
      "function process() return {{}} end",
      "finish value: -f csv writes a list of rows, not a string"},
  }
  for _, case in ipairs(bad) do
    it("fails the run (exit 1, no output) when the merged value is " .. case[1], function()
      local r = run(case[3] .. "\n" .. case[2], "x\ny\n", {"-f", "csv"})
      assert.are.same({1, "", "luaworkq: " .. case[4] .. "\n"}, {r.code, r.stdout, r.stderr})
    end)
  end
end)

describe("-f csv: the one header line", function()
  local rows, expected
  setup(function()
    local lines = {"n,sq"}
    for i = 1, 3000 do lines[#lines + 1] = i .. "," .. i * i end
    rows = testing.write_file(dir .. "/rows.csv", table.concat(lines, "\n") .. "\n")
    -- Every third row, as a table of column -> value.
    local want = {"n,sq"}
    for i = 3, 3000, 3 do want[#want + 1] = i .. "," .. i * i end
    expected = table.concat(want, "\n") .. "\n"
  end)

  local THIRD = "function process(r) if tonumber(r.n) %% 3 == 0 then return r end end"
  -- Fails item 700 as long as the file named by --set fail exists.
  local FLAKY = [[
local f = io.open(luaworkq.args.fail or "") if f then f:close() end
function process(r)
  if f and r.n == "700" then error("not now") end
  if tonumber(r.n) % 3 == 0 then return r end
end]]

  local function job(name, source)
    return testing.write_file(dir .. "/" .. name .. ".lua", source)
  end

  it("is written once by a run resumed from its journal, byte-identical", function()
    local flag = testing.write_file(dir .. "/fail-now", "")
    local journal = dir .. "/resume.journal"
    local args = {"--csv", "--header", "-f", "csv", "-j", "3", "--journal", journal,
                  "--set", "fail=" .. flag}
    local first = testing.run{job = job("flaky", FLAKY), files = {rows}, args = args}
    assert.equals(1, first.code)
    os.remove(flag)
    local again = testing.run{job = job("flaky", FLAKY), files = {rows}, args = args}
    assert.are.same({0, "", expected}, {again.code, again.stderr, again.stdout})
  end)

  it("is written once by --merge of shards, byte-identical", function()
    local third = job("third", THIRD:format())
    local journals = {}
    for k = 1, 3 do
      journals[k] = dir .. "/shard" .. k .. ".journal"
      local r = testing.run{job = third, files = {rows},
                            args = {"--csv", "--header", "-f", "csv", "--shard", k .. "/3",
                                    "--journal", journals[k]}}
      assert.equals(0, r.code)
    end
    local r = testing.run{job = third, files = {journals[2], journals[3], journals[1]},
                          args = {"--csv", "--header", "-f", "csv", "--merge"}}
    assert.are.same({0, "", expected}, {r.code, r.stderr, r.stdout})
  end)

  it("refuses to --merge shards whose first rows named other columns", function()
    local keys = job("keys", "function process(s) local n = tonumber(s)\n" ..
                     "if n % 2 == 1 then return {n = n} end return {n = n, half = n // 2} end")
    local items = testing.write_file(dir .. "/items", "1\n2\n3\n4\n")
    local journals = {}
    for k = 1, 2 do
      journals[k] = dir .. "/keys" .. k .. ".journal"
      testing.run{job = keys, files = {items},
                  args = {"-k", "-f", "csv", "--shard", k .. "/2", "--journal", journals[k]}}
    end
    local r = testing.run{job = keys, files = journals, args = {"-k", "-f", "csv", "--merge"}}
    assert.equals(2, r.code)
    assert.matches("item 2: its shard wrote other columns %(half,n%) than the first shard " ..
                   "%(n%): define a global `columns` in the job", r.stderr)
  end)

  it("comes first with --unordered, the rows as a set", function()
    local r = testing.run{job = job("third", THIRD:format()), files = {rows},
                          args = {"--csv", "--header", "-f", "csv", "-j", "4", "--unordered"}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    local got, want = support.lines_of(r.stdout), support.lines_of(expected)
    assert.equals("n,sq", got[1])
    table.sort(got)
    table.sort(want)
    assert.are.same(want, got)
  end)
end)

describe("luaworkq.header()", function()
  local SHOW = [[
function setup() luaworkq.log("setup", tostring(luaworkq.header())) end
function process(r)
  local h = luaworkq.header()
  h[1] = "changed"  -- a copy: the next call and the records are as they were
  return table.concat(luaworkq.header(), "|") .. " " .. tostring(r.b or r.x)
end]]

  it("gives the current file's header names in order, in any hook", function()
    local a = testing.write_file(dir .. "/ha.csv", "b,a,c\n1,2,3\n")
    local b = testing.write_file(dir .. "/hb.csv", "x\n4\n")
    local r = run(SHOW, "", {"--csv", "--header", "-f", "lines", "-j", "1"}, {a, b})
    assert.are.same({0, "b|a|c 1\nx 4\n", "setup\tnil\n"}, {r.code, r.stdout, r.stderr})
  end)

  it("gives under testing.load, with its header option, what the binary gives", function()
    local path = testing.write_file(dir .. "/header-job.lua",
      "function process(r) local h = luaworkq.header() h[2] = 'x' " ..
      "return table.concat(luaworkq.header(), ',') .. ' ' .. r.b end")
    local r = testing.run{job = path, input = "a,b\n1,2\n", args = {"--csv", "--header"}}
    assert.are.same({0, {"a,b 2"}}, {r.code, r.output})
    local job = testing.load(path, {header = {"a", "b"}, quiet = true})
    assert.are.same(r.output, job.run({{a = "1", b = "2"}}))
    assert.is_nil(testing.load(path, {quiet = true}).env.luaworkq.header())
  end)

  it("gives the first file's header in the host's merge and finish", function()
    local a = testing.write_file(dir .. "/fa.csv", "k,v\n1,2\n")
    local b = testing.write_file(dir .. "/fb.csv", "v,k\n3,4\n")
    local r = run("function process(r) return {r.k} end\n" ..
                  "function merge(x, y) x[#x + 1] = table.concat(luaworkq.header(), ':') " ..
                  "for _, k in ipairs(y) do x[#x + 1] = k end return x end\n" ..
                  "function finish(x) return table.concat(luaworkq.header(), '|') .. ' ' .. " ..
                  "#x end", "", {"--csv", "--header", "-f", "lines", "-j", "1"}, {a, b})
    assert.are.same({0, "", "k|v 3"}, {r.code, r.stderr, r.stdout})
  end)

  it("is nil without --header", function()
    local r = run("function process() return tostring(luaworkq.header()) end", "a,b\n",
                  {"--csv", "-f", "lines"})
    assert.are.same({0, "nil\n"}, {r.code, r.stdout})
  end)
end)

describe("-f csv and Python's csv module", function()
  -- Random rows (a fixed seed): each item is a JSON object of column ->
  -- string, the strings made of bytes that CSV must quote and others.
  local GEN = [[
import json, random, sys
random.seed(int(sys.argv[1]))
cols = ["id", "a,b", 'q"t', "text", "e", "uni"]
alphabet = ["a", "Z", " ", ",", '"', "\n", "\r\n", "\r", "\t", "é", "\u20ac", "''", ";"]
if sys.argv[2] == "nocr":
    alphabet = [c for c in alphabet if "\r" not in c]
for i in range(int(sys.argv[3])):
    row = {"id": str(i)}
    for c in cols[1:]:
        if random.random() < 0.8:
            row[c] = "".join(random.choice(alphabet) for _ in range(random.randint(0, 6)))
    print(json.dumps(row))
]]
  -- The rows of a CSV file as DictReader reads them, one JSON object a line.
  local READ = [[
import csv, json, sys
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        print(json.dumps({k: v for k, v in row.items() if v != ""}, sort_keys=True))
]]
  -- The JSON rows written by DictWriter, missing values empty.
  local WRITE = [[
import csv, json, sys
cols = ["id", "a,b", 'q"t', "text", "e", "uni"]
w = csv.DictWriter(sys.stdout, cols, lineterminator="\n")
w.writeheader()
for line in open(sys.argv[1], encoding="utf-8"):
    w.writerow(json.loads(line))
]]
  local DROP_EMPTY = "function process(r) local t = {} for k, v in pairs(r) do " ..
                     'if v ~= "" then t[k] = v end end return t end'
  local JOB = 'columns = {"id", "a,b", \'q"t\', "text", "e", "uni"}\n' ..
              "function process(r) return r end"

  local python = support.python

  -- The rows as DictReader's program prints them: keys sorted, empty
  -- values dropped (a missing value and an empty one read back the same).
  local function normalized(ndjson)
    return python([[
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    print(json.dumps({k: v for k, v in json.loads(line).items() if v != ""}, sort_keys=True))
]], ndjson)
  end

  it("reads back the values of random rows that -f csv wrote", function()
    for seed = 1, 3 do
      local rows = testing.write_file(dir .. "/rand.ndjson", python(GEN, seed, "cr", 400))
      local out = dir .. "/rand.csv"
      local r = run(JOB, "", {"--ndjson-in", "-f", "csv", "-j", "2", "-o", out}, {rows})
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.equals(normalized(rows), python(READ, out))
      -- and luaworkq reads back the same values
      local back = run(DROP_EMPTY, "", {"--csv", "--header", "-f", "ndjson"}, {out})
      assert.are.same({0, ""}, {back.code, back.stderr})
      local want = {}
      for line in testing.read_file(rows):gmatch("[^\n]+") do
        local t = {}
        for k, v in pairs(cjson.decode(line)) do if v ~= "" then t[k] = v end end
        want[#want + 1] = t
      end
      assert.are.same(want, back.output)
    end
  end)

  it("writes what DictWriter writes, byte for byte, where no field holds a bare CR", function()
    local rows = testing.write_file(dir .. "/nocr.ndjson", python(GEN, 7, "nocr", 400))
    local r = run(JOB, "", {"--ndjson-in", "-f", "csv", "-j", "3"}, {rows})
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.equals(python(WRITE, rows), r.stdout)
  end)
end)
