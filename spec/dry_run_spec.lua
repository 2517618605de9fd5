-- --dry-run: the input read and split exactly as a run would (record
-- formats, --header, --shard, a journal's results carried) and each item
-- that would run written as SOURCE:LINE<TAB>item, escaped; no hook runs,
-- nothing else is written, exit 0.
local testing = require "luaworkq.testing"
local support = require "support"

-- Every hook, and the top level, would leave a file if it ran.
local MARKING = [[
local function mark(name)
  assert(io.open(luaworkq.args.dir .. "/" .. name, "w")):close()
end
mark("top")
function setup() mark("setup") end
function init() mark("init") end
function process(s) mark("process") return s end
function shutdown() mark("shutdown") end
]]

describe("--dry-run", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  -- Runs --dry-run over stdin with args; asserts it ran no Lua and wrote
  -- nothing in dir but what it was given. Returns run's result.
  local function dry(args, input, files)
    local job = testing.write_file(dir .. "/job.lua", MARKING)
    local before = support.listdir(dir)
    local all = {"--dry-run", "--set", "dir=" .. dir}
    for _, a in ipairs(args) do all[#all + 1] = a end
    local r = testing.run{job = job, input = input, files = files, args = all}
    assert.are.same(before, support.listdir(dir))
    return r
  end

  -- {record format, args, input, what is listed}
  local formats = {
    {"lines, escaped", {}, "a\n\nt\tb\nback\\slash\nlast",
      "stdin:1\ta\nstdin:2\t\nstdin:3\tt\\tb\nstdin:4\tback\\\\slash\nstdin:5\tlast\n"},
    {"-0", {"-0"}, "x\ny\0\0z\0", "stdin:1\tx\\ny\nstdin:2\t\nstdin:3\tz\n"},
    {"-d STR", {"-d", ";;"}, "a;;b\n;;c;;", "stdin:1\ta\nstdin:2\tb\\n\nstdin:3\tc\n"},
    {"--paragraph", {"--paragraph"}, "\np1\np1 again\n\n\np2\n",
      "stdin:2\tp1\\np1 again\nstdin:6\tp2\n"},
    {"--csv", {"--csv"}, 'a,"b\nc"\r\nd,"e\te"\n',
      'stdin:1\ta,"b\\nc"\nstdin:3\td,"e\\te"\n'},
    {"--csv --header", {"--csv", "--header"}, "\239\187\191h1,h2\n1,2\n3,4\n",
      "stdin:2\t1,2\nstdin:3\t3,4\n"},
    {"--tsv", {"--tsv"}, "a\tb\nc\td\n", "stdin:1\ta\\tb\nstdin:2\tc\\td\n"},
    {"--ndjson-in", {"--ndjson-in"}, '{"a":1}\n\n  \n[2]\n',
      'stdin:1\t{"a":1}\nstdin:4\t[2]\n'},
    {"--shard 2/3", {"--shard", "2/3"}, support.numbers(8), "stdin:2\t2\nstdin:5\t5\nstdin:8\t8\n"},
  }
  for _, case in ipairs(formats) do
    it("lists the items of " .. case[1] .. " and runs no hook", function()
      local r = dry(case[2], case[3])
      assert.are.same({0, case[4], ""}, {r.code, r.stdout, r.stderr})
    end)
  end

  it("names each file and its lines", function()
    local a = testing.write_file(dir .. "/a.txt", "1\n2\n")
    local b = testing.write_file(dir .. "/b.txt", "3\n")
    local r = dry({"-o", dir .. "/out.json", "--joblog", dir .. "/jobs.log"}, "", {a, b})
    assert.are.same({0, a .. ":1\t1\n" .. a .. ":2\t2\n" .. b .. ":1\t3\n", ""},
                    {r.code, r.stdout, r.stderr})
  end)

  describe("with a journal", function()
    local job, items, journal
    -- Items 2 and 4 fail; the rest are journaled.
    local BUGGY = "function process(s) if s == '2' or s == '4' then error('bad') end return s end"
    before_each(function()
      job = testing.write_file(dir .. "/run.lua", BUGGY)
      items = testing.write_file(dir .. "/items.txt", support.numbers(6))
      journal = dir .. "/run.journal"
      local r = testing.run{job = job, files = {items}, args = {"-k", "--journal", journal}}
      assert.are.same({1, '["1","3","5","6"]\n'}, {r.code, r.stdout})
    end)

    it("lists only what a resume would run, and leaves the journal as it was", function()
      local had = testing.read_file(journal)
      local more = testing.write_file(dir .. "/more.txt", "7\n")
      local r = testing.run{job = job, files = {items, more},
                            args = {"--dry-run", "--journal", journal}}
      assert.are.same({0, items .. ":2\t2\n" .. items .. ":4\t4\n" .. more .. ":1\t7\n", ""},
                      {r.code, r.stdout, r.stderr})
      assert.are.equal(had, testing.read_file(journal))
    end)

    it("takes a fixed script with --retry-failed, and refuses it without", function()
      testing.write_file(job, "function process(s) return s end")
      local r = testing.run{job = job, files = {items},
                            args = {"--dry-run", "--retry-failed", "--journal", journal}}
      assert.are.same({0, items .. ":2\t2\n" .. items .. ":4\t4\n", ""},
                      {r.code, r.stdout, r.stderr})
      r = testing.run{job = job, files = {items}, args = {"--dry-run", "--journal", journal}}
      assert.are.same({2, ""}, {r.code, r.stdout})
      assert.matches("^luaworkq: journal [^\n]* was made by another job script", r.stderr)
    end)

    it("refuses an input that differs from the journal's, as a run would", function()
      local changed = testing.write_file(dir .. "/changed.txt", "1\n2\nthree\n")
      local r = testing.run{job = job, files = {changed},
                            args = {"--dry-run", "--journal", journal}}
      assert.are.same({2, "luaworkq: item 3 (" .. changed .. ":3) differs from the one "
        .. "journal " .. journal .. " recorded: the input changed\n"}, {r.code, r.stderr})
    end)

    it("lists every item when the journal is not there yet", function()
      os.remove(journal)
      local r = testing.run{job = job, files = {items},
                            args = {"--dry-run", "--shard", "1/2", "--journal", journal}}
      assert.are.same({0, items .. ":1\t1\n" .. items .. ":3\t3\n" .. items .. ":5\t5\n", ""},
                      {r.code, r.stdout, r.stderr})
      assert.is_nil(testing.read_file(journal))
    end)
  end)
end)
