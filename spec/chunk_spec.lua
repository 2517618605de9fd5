-- --chunk N: process receives up to N consecutive records as an array of
-- their values, index and where() are the first record's, and there is one
-- result per chunk. Journals, shards, --merge, --dry-run and failures count
-- chunks as items. A chunk ends at the end of an input file (but with
-- --whole-files, where each file is a record).
local testing = require "luaworkq.testing"
local support = require "support"

-- Each chunk as "index file:line [values]", CSV/TSV records as a|b,
-- JSON values by type.
local ECHO = [[
local function show(v)
  if type(v) == "table" then return v[1] and table.concat(v, "|") or "{}" end
  return tostring(v)
end
function process(items, index)
  local name, line = luaworkq.where()
  local shown = {}
  for i, v in ipairs(items) do shown[i] = show(v) end
  return ("%d %s:%d [%s]"):format(index, name:match("[^/]*$"), line, table.concat(shown, ","))
end
]]

local dir
support.tmpdir_all(function(path) dir = path end)

local function file(name, content)
  return testing.write_file(dir .. "/" .. name, content)
end

local function run(args, opts)
  local all = {"-f", "lines"}
  for _, a in ipairs(args) do all[#all + 1] = a end
  opts = opts or {}
  return testing.run{job_source = opts.job or ECHO, files = opts.files, input = opts.input,
                     args = all}
end

local SEVEN = "a\nb\n\nd\ne\nf\ng\n"

describe("--chunk", function()
  it("hands process up to N records as an array, with the first one's index and line", function()
    local r = run({"--chunk", "3"}, {input = SEVEN})
    assert.are.same({0, "1 stdin:1 [a,b,]\n4 stdin:4 [d,e,f]\n7 stdin:7 [g]\n", ""},
                    {r.code, r.stdout, r.stderr})
  end)

  it("ends a chunk at the end of each file", function()
    local one, two = file("one", "1\n2\n3\n"), file("two", "4\n5\n")
    local r = run({"--chunk", "2"}, {files = {one, two}})
    assert.are.same({0, "1 one:1 [1,2]\n3 one:3 [3]\n4 two:1 [4,5]\n"}, {r.code, r.stdout})
  end)

  it("takes several files into one chunk with --whole-files", function()
    local one, two, three = file("w1", "x\n"), file("w2", ""), file("w3", "z")
    local r = run({"--chunk", "2", "--whole-files"}, {files = {one, two, three}})
    assert.are.same({0, "1 w1:1 [x\n,]\n3 w3:1 [z]\n"}, {r.code, r.stdout})
  end)

  it("gives CSV records as field arrays and --ndjson-in values decoded", function()
    local csv = run({"--chunk", "2", "--csv"}, {input = 'x,y\n"1,5",2\n3,4\n'})
    assert.are.same({0, "1 stdin:1 [x|y,1,5|2]\n3 stdin:3 [3|4]\n"}, {csv.code, csv.stdout})
    local json = run({"--chunk", "2", "--ndjson-in"}, {input = '"s"\n\n7\n{}\n'})
    assert.are.same({0, "1 stdin:1 [s,7]\n3 stdin:4 [{}]\n"}, {json.code, json.stdout})
  end)

  it("lists one line per chunk with --dry-run, its records tab-separated", function()
    local r = run({"--chunk", "3", "--dry-run"}, {input = SEVEN})
    assert.are.same({0, "stdin:1\ta\tb\t\nstdin:4\td\te\tf\nstdin:7\tg\n"}, {r.code, r.stdout})
  end)

  it("shards by chunk, and --merge puts the shards back together", function()
    local input = file("seven", SEVEN)
    local j1, j2 = dir .. "/s1", dir .. "/s2"
    os.remove(j1); os.remove(j2)
    local s1 = run({"--chunk", "3", "--shard", "1/2", "--journal", j1}, {files = {input}})
    local s2 = run({"--chunk", "3", "--shard", "2/2", "--journal", j2}, {files = {input}})
    assert.are.same({0, "1 seven:1 [a,b,]\n7 seven:7 [g]\n"}, {s1.code, s1.stdout})
    assert.are.same({0, "4 seven:4 [d,e,f]\n"}, {s2.code, s2.stdout})
    local merged = run({"--chunk", "3", "--merge"}, {files = {j1, j2}})
    assert.are.same({0, "1 seven:1 [a,b,]\n4 seven:4 [d,e,f]\n7 seven:7 [g]\n"},
                    {merged.code, merged.stdout})
  end)

  it("resumes from a journal by chunk, and refuses another N", function()
    local input, journal = file("seven", SEVEN), dir .. "/j"
    os.remove(journal)
    local first = run({"--chunk", "3", "--journal", journal}, {files = {input}})
    assert.are.same({0, "1 seven:1 [a,b,]\n4 seven:4 [d,e,f]\n7 seven:7 [g]\n"},
                    {first.code, first.stdout})
    local again = run({"--chunk", "3", "--journal", journal, "--stats"}, {files = {input}})
    assert.are.same({0, first.stdout}, {again.code, again.stdout})
    assert.matches("luaworkq: 3 done %(3 from the journal%), 0 failed", again.stderr)
    local other = run({"--chunk", "2", "--journal", journal}, {files = {input}})
    assert.are.same(2, other.code)
    assert.matches("chunk 3 %(this run: [^)]*chunk 2%)", other.stderr)
  end)

  it("fails a chunk as one item, named by its first record", function()
    local job = [[function process(items)
      for _, x in ipairs(items) do if x == "e" then error("bad " .. x, 0) end end
      return #items
    end]]
    local r = run({"--chunk", "3", "-k"}, {input = SEVEN, job = job})
    assert.are.same({1, "3\n1\n"}, {r.code, r.stdout})
    assert.matches("^luaworkq: item 4 %(stdin:4%) failed: bad e\n", r.stderr)
    assert.matches("luaworkq: 2 done, 1 failed\n$", r.stderr)
  end)

  it("counts what a failing chunk left unrun in chunks", function()
    local job = [[function process(items, index)
      if index == 7 then error("boom", 0) end
      return items[1]
    end]]
    local r = run({"--chunk", "3", "-j", "1"}, {input = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n",
                                             job = job})
    assert.are.same({1, "1\n4\n"}, {r.code, r.stdout})
    assert.matches("luaworkq: stopped: 2 done, 1 failed, 2 not processed", r.stderr)
  end)

  it("makes a record longer than --max-record a chunk alone, which fails", function()
    local r = run({"--chunk", "3", "--max-record", "1", "-k"}, {input = "a\nb\nlong\nc\n"})
    assert.are.same({1, "1 stdin:1 [a,b]\n4 stdin:4 [c]\n"}, {r.code, r.stdout})
    assert.matches("item 3 %(stdin:3%) failed: record longer than the %-%-max%-record bound of 1 byte",
                   r.stderr)
  end)

  it("takes a whole number from 1", function()
    local r = run({"--chunk", "0"}, {input = SEVEN})
    assert.are.same({2, "luaworkq: --chunk: '0' is not a whole number from 1 to 1000000\n"},
                    {r.code, r.stderr})
  end)
end)
