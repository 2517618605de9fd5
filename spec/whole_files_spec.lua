-- --whole-files: each ITEMS file is one item, all of its bytes (decompressed
-- when compressed, an empty file too); where() gives the file and line 1.
-- It goes with --journal, --shard, --dry-run and --max-record as any
-- record format does.
local testing = require "luaworkq.testing"
local support = require "support"

local ECHO = [[
function process(item, index)
  local name, line = luaworkq.where()
  return ("%d %s:%d [%s]"):format(index, name:match("[^/]*$"), line, item:gsub("\n", "|"))
end
]]

local dir
support.tmpdir_all(function(path) dir = path end)

local function file(name, content)
  return testing.write_file(dir .. "/" .. name, content)
end

local function run(args, files)
  local all = {"-f", "lines"}
  for _, a in ipairs(args) do all[#all + 1] = a end
  return testing.run{job_source = ECHO, files = files, args = all}
end

describe("--whole-files", function()
  local a, empty, packed
  before_each(function()
    a = file("a.txt", "one\ntwo\n")
    empty = file("empty.txt", "")
    file("c.txt", "three\nfour")
    assert(os.execute("gzip -c " .. testing.quote(dir .. "/c.txt") .. " > "
      .. testing.quote(dir .. "/c.gz")))
    packed = dir .. "/c.gz"
  end)

  it("makes each file one item, an empty one and a compressed one too", function()
    local r = run({"--whole-files"}, {a, empty, packed})
    assert.are.same({0, "1 a.txt:1 [one|two|]\n2 empty.txt:1 []\n3 c.gz:1 [three|four]\n", ""},
                    {r.code, r.stdout, r.stderr})
  end)

  it("reads standard input as one item", function()
    local r = testing.run{job_source = ECHO, input = "x\ny\n", args = {"-f", "lines", "--whole-files"}}
    assert.are.same({0, "1 stdin:1 [x|y|]\n"}, {r.code, r.stdout})
  end)

  it("lists one line per file with --dry-run", function()
    local r = run({"--whole-files", "--dry-run"}, {a, empty})
    assert.are.same({0, a .. ":1\tone\\ntwo\\n\n" .. empty .. ":1\t\n"}, {r.code, r.stdout})
  end)

  it("shards by file", function()
    local r = run({"--whole-files", "--shard", "2/2"}, {a, empty, packed})
    assert.are.same({0, "2 empty.txt:1 []\n"}, {r.code, r.stdout})
  end)

  it("fails a file longer than --max-record as a record would", function()
    local r = run({"--whole-files", "--max-record", "5", "-k"}, {a, empty, packed})
    assert.are.same({1, "2 empty.txt:1 []\n"}, {r.code, r.stdout})
    assert.matches("item 1 %(" .. a:gsub("%p", "%%%0") .. ":1%) failed: record longer than the "
      .. "%-%-max%-record bound of 5 bytes", r.stderr)
  end)

  it("resumes from a journal without running the files again", function()
    local journal = dir .. "/j"
    os.remove(journal)
    local first = run({"--whole-files", "--journal", journal}, {a, empty})
    assert.are.same({0, "1 a.txt:1 [one|two|]\n2 empty.txt:1 []\n"}, {first.code, first.stdout})
    local again = run({"--whole-files", "--journal", journal, "--stats"}, {a, empty})
    assert.are.same({0, first.stdout}, {again.code, again.stdout})
    assert.matches("luaworkq: 2 done %(2 from the journal%), 0 failed", again.stderr)
  end)

  it("is a record format of its own", function()
    local r = run({"--whole-files", "--csv"}, {a})
    assert.are.same({2, "luaworkq: --whole-files and --csv are two record formats: give one\n"},
                    {r.code, r.stderr})
  end)
end)
