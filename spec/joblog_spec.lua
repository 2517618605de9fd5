-- --joblog FILE: a header, then one line per finished item in GNU
-- parallel's columns (Seq Host Starttime JobRuntime Send Receive Exitval
-- Signal Command); appended to by a run that resumes its journal, started
-- afresh by any other; refused when it is another output or an input.
-- Retries show: --stats counts them, --errors records the attempts.
local testing = require "luaworkq.testing"
local support = require "support"

local lines_of, run_in = support.lines_of, support.run_in

local HEADER = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand"
local TIMEOUT = 0.5

-- The fields of a log line.
local function fields(line)
  local t = {}
  for f in (line .. "\t"):gmatch("([^\t]*)\t") do t[#t + 1] = f end
  return t
end

-- The log's lines after its header, as arrays of fields; asserts the header.
local function log_rows(path)
  local lines = lines_of(assert(testing.read_file(path), "no joblog"))
  assert.are.equal(HEADER, lines[1])
  local rows = {}
  for i = 2, #lines do rows[#rows + 1] = fields(lines[i]) end
  return rows
end

-- The items of a log's rows: {Seq, Exitval, Command}, as strings.
local function seqs(rows)
  local t = {}
  for i, row in ipairs(rows) do t[i] = table.concat({row[1], row[7], row[9]}, " ") end
  return t
end

-- Unix time now, in seconds with a fraction.
local function unix_now()
  return tonumber(support.output_of("date +%s.%N"))
end

describe("--joblog", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  it("writes every column for a run with failures, retries and a timeout", function()
    -- 1 a result; 2 fails at every attempt; 3 nil; 4 times out once, then
    -- returns "ok"; 5 times out at every attempt.
    local job = support.SPIN_ONCE .. [[
      function process(item)
        if item == "fails" then error("no") end
        if item == "nil" then return nil end
        if item == "spin" then spin_once() return "ok" end
        if item == "slow" then while true do end end
        return item .. "!"
      end]]
    local log = dir .. "/jobs.log"
    local before = unix_now()
    local r = testing.run{job_source = job, items = {"a\tb", "fails", "nil", "spin", "slow"},
      args = {"-j", "1", "-k", "--retries", "1", "--timeout", tostring(TIMEOUT),
              "--joblog", log, "--set", "dir=" .. dir}}
    local after = unix_now()
    assert.are.same({1, '["a\\tb!","ok"]\n'}, {r.code, r.stdout})
    local rows = log_rows(log)
    -- Seq, Host, Send, Receive (`"a\tb!"` is 7 bytes, `"ok"` 4), Exitval,
    -- Signal, Command
    local fixed = {}
    for i, row in ipairs(rows) do
      fixed[i] = {row[1], row[2], row[5], row[6], row[7], row[8], row[9]}
    end
    assert.are.same({
      {"1", "1", "3", "7", "0", "0", "stdin:1 a\\tb"},
      {"2", "1", "5", "0", "1", "0", "stdin:2 fails"},
      {"3", "1", "3", "0", "0", "0", "stdin:3 nil"},
      {"4", "1", "4", "4", "0", "0", "stdin:4 spin"},
      {"5", "1", "4", "0", "1", "0", "stdin:5 slow"},
    }, fixed)
    local runtime = {}
    for i, row in ipairs(rows) do
      assert.matches("^%d+%.%d%d%d$", row[3])
      assert.matches("^%d+%.%d%d%d$", row[4])
      local start, ran = tonumber(row[3]), tonumber(row[4])
      assert.is_true(start >= math.floor(before * 1000) / 1000 and start + ran <= after + 0.002,
                     ("item %d ran from %s for %s, the run from %f to %f"):format(
                       i, row[3], row[4], before, after))
      runtime[i] = ran
    end
    -- Item 5's last attempt ran until its timeout; item 4's last attempt,
    -- after a timeout, is the one that returned at once.
    assert.is_true(runtime[5] >= TIMEOUT, "item 5's last attempt ran " .. runtime[5] .. " s")
    assert.is_true(runtime[4] < TIMEOUT, "item 4's last attempt ran " .. runtime[4] .. " s")
    assert.is_true(tonumber(rows[5][3]) >= tonumber(rows[4][3]) + runtime[4])
  end)

  it("writes tab, newline and backslash in an item as \\t \\n \\\\", function()
    local log = dir .. "/jobs.log"
    local r = testing.run{job_source = "function process(s) return #s end",
      input = "t\tab\0n\nl\0b\\s\0", args = {"-0", "-j", "2", "--joblog", log}}
    assert.are.same({0, "[4,3,3]\n"}, {r.code, r.stdout})
    assert.are.same({"1 0 stdin:1 t\\tab", "2 0 stdin:2 n\\nl", "3 0 stdin:3 b\\\\s"},
                    seqs(log_rows(log)))
  end)

  it("names each worker in Host and counts a merge job's transferred result", function()
    local log = dir .. "/jobs.log"
    local r = testing.run{job_source = [[
      function process(s) if s ~= "" then return #s end end
      function merge(a, b) return a + b end]],
      items = {"aa", "", "bbb", "c"}, args = {"-j", "2", "--joblog", log}}
    assert.are.same({0, "6\n"}, {r.code, r.stdout})
    local rows = log_rows(log)
    assert.are.same({"1 0 stdin:1 aa", "2 0 stdin:2 ", "3 0 stdin:3 bbb", "4 0 stdin:4 c"},
                    seqs(rows))
    for i, row in ipairs(rows) do
      assert.truthy(row[2] == "1" or row[2] == "2", row[2])
      assert.are.equal(({"2", "0", "3", "1"})[i], row[5])
      -- the result in the exact form that crosses to the host; nil: none
      assert.are.equal(i ~= 2, tonumber(row[6]) > 0, row[6])
    end
  end)

  it("is appended to by a run that resumes its journal, started afresh otherwise", function()
    local job = testing.write_file(dir .. "/job.lua", [[
      function process(s)
        if s == os.getenv("FAIL") then error("bad " .. s) end
        return s
      end]])
    local items = testing.write_file(dir .. "/items.txt", "a\nb\nc\nd\n")
    local log, journal = dir .. "/jobs.log", dir .. "/run.journal"
    testing.write_file(log, "what was there\n")
    local args = {"-j", "1", "--journal", journal, "--joblog", log}
    -- A new journal: the log starts afresh; the run stops at item 3.
    local r = testing.run{job = job, files = {items}, args = args, env = {FAIL = "c"}}
    assert.are.equal(1, r.code)
    local src = items .. ":"
    assert.are.same({"1 0 " .. src .. "1 a", "2 0 " .. src .. "2 b", "3 1 " .. src .. "3 c"},
                    seqs(log_rows(log)))
    -- The same command resumes: items 3 and 4 are added, under no new header.
    r = testing.run{job = job, files = {items}, args = args}
    assert.are.same({0, '["a","b","c","d"]\n'}, {r.code, r.stdout})
    assert.are.same({"1 0 " .. src .. "1 a", "2 0 " .. src .. "2 b", "3 1 " .. src .. "3 c",
                     "3 0 " .. src .. "3 c", "4 0 " .. src .. "4 d"}, seqs(log_rows(log)))
    -- Without the journal, a new log.
    r = testing.run{job = job, files = {items}, args = {"-j", "1", "--joblog", log}}
    assert.are.equal(0, r.code)
    assert.are.same({"1 0 " .. src .. "1 a", "2 0 " .. src .. "2 b", "3 0 " .. src .. "3 c",
                     "4 0 " .. src .. "4 d"}, seqs(log_rows(log)))
  end)

  -- {what the user does, args, the message}
  local refused = {
    {"--joblog over an input", {"--joblog", "items.txt", "job.lua", "items.txt"},
      "luaworkq: --joblog items.txt is the input items.txt: writing it would destroy it\n"},
    {"--joblog over the job script", {"--joblog", "./job.lua", "job.lua", "items.txt"},
      "luaworkq: --joblog ./job.lua is the job script job.lua: writing it would destroy it\n"},
    {"--joblog and -o on one file", {"-o", "x", "--joblog", "x", "job.lua", "items.txt"},
      "luaworkq: -o x and --joblog x are the same file: each output needs its own\n"},
    {"--joblog and --journal on one file", {"--journal", "x", "--joblog", "x", "job.lua",
      "items.txt"},
      "luaworkq: --journal x and --joblog x are the same file: each output needs its own\n"},
    {"--joblog on standard output", {"--joblog", "-", "job.lua", "items.txt"},
      "luaworkq: --joblog -: standard output carries the results; give the log a file\n"},
  }
  for _, case in ipairs(refused) do
    it("is refused with exit 2 for " .. case[1], function()
      testing.write_file(dir .. "/job.lua", "function process(s) return s end\n")
      testing.write_file(dir .. "/items.txt", "a\n")
      local before = support.listdir(dir)
      local code, stderr = run_in(dir, case[2])
      assert.are.same({2, case[3]}, {code, stderr})
      assert.are.same(before, support.listdir(dir))
      assert.are.equal("a\n", testing.read_file(dir .. "/items.txt"))
    end)
  end
end)

describe("--joblog on a slow disk", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  it("does not hold the run back: the results are whole before the log is read", function()
    -- The log is a FIFO that nobody reads until every result has come out
    -- on the pipe to head (the run's 20,000 lines of log are 16 times a
    -- pipe's buffer): a run that waited for the log to take its lines would
    -- never finish its results (then timeout ends it).
    local n = 20000
    testing.write_file(dir .. "/job.lua", "function process(s) return s + 0 end\n")
    testing.write_file(dir .. "/items.txt", support.numbers(n))
    local script = ([[
      cd %s && mkfifo log &&
      timeout -k 5 60 %s -f ndjson --joblog log job.lua items.txt 2>err |
        { exec 3<>log; head -n %d >out; exec 4<log 3<&-; cat <&4 >log.copy; }
      echo "${PIPESTATUS[0]}"]]):format(testing.quote(dir),
      testing.quote(os.getenv("LUAWORKQ") or "luaworkq"), n)
    local _, status = support.sh("bash -c " .. testing.quote(script))
    assert.are.same({"0", ""}, {status:match("%d+"), testing.read_file(dir .. "/err")})
    assert.are.equal(support.numbers(n), testing.read_file(dir .. "/out"))
    local rows = log_rows(dir .. "/log.copy")
    assert.are.equal(n, #rows)
    table.sort(rows, function(a, b) return tonumber(a[1]) < tonumber(b[1]) end)
    for i, row in ipairs(rows) do
      assert.are.equal(("%d 0 items.txt:%d %d"):format(i, i, i), seqs({row})[1])
    end
  end)

  it("that is full stops the run and says so once", function()
    testing.write_file(dir .. "/job.lua", "function process(s) return s end\n")
    testing.write_file(dir .. "/items.txt", support.numbers(20000))
    local code, stderr = run_in(dir, {"--joblog", "/dev/full", "job.lua", "items.txt"})
    assert.are.equal(2, code)
    local said = select(2, stderr:gsub("cannot write %-%-joblog /dev/full: No space left on device", ""))
    assert.are.equal(1, said, stderr)
    assert.matches("\nluaworkq: stopped: %d+ done, 0 failed, %d+ not processed\n$", stderr)
  end)
end)

describe("retries", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  -- Item "flaky" fails at its first attempt (a marker remembers it), item
  -- "bad" at every one.
  local JOB = [[
    function process(s)
      if s == "bad" then error("bad") end
      if s == "flaky" then
        local marker = luaworkq.args.dir .. "/tried"
        local f = io.open(marker)
        if not f then assert(io.open(marker, "w")):close() error("once") end
        f:close()
      end
      return s
    end]]

  it("are counted by --stats and recorded in --errors", function()
    local errors = dir .. "/errors.ndjson"
    local r = testing.run{job_source = JOB, items = {"a", "flaky", "bad"},
      args = {"-j", "1", "-k", "--retries", "2", "--stats", "--errors", errors,
              "--set", "dir=" .. dir}}
    assert.are.same({1, '["a","flaky"]\n'}, {r.code, r.stdout})
    assert.truthy(r.stderr:find("\nluaworkq: 2 items retried, in 5 attempts\n", 1, true),
                  r.stderr)
    local record = testing.read_file(errors)
    assert.are.equal('{"attempts":3,"error":"', record:sub(1, 23))
    assert.truthy(record:find('"index":3,"input":"bad","line":3,', 1, true), record)
  end)
end)
