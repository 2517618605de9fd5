-- Stopping: the orderly stop after a failing item, SIGINT and SIGTERM, a
-- closed output pipe, and scripts that misbehave in other ways. In every
-- case the run ends, what it wrote is well-formed and nothing is lost that
-- had finished.
local testing = require "luaworkq.testing"
local system = require "system"  -- luasystem, which busted needs anyway

local quote = testing.quote
local support = require "support"
local numbers, first_line, last_line, listdir =
  support.numbers, support.first_line, support.last_line, support.listdir

-- Helpers for jobs. Workers tell the spec how far they got with marker
-- files in luaworkq.args.dir; the spec waits for them (never a fixed sleep).
local PRELUDE = [[
local dir = luaworkq.args.dir
local function touch(name) assert(io.open(dir .. "/" .. name, "w")):close() end
local function exists(name)
  local f = io.open(dir .. "/" .. name)
  if f then f:close() end
  return f ~= nil
end
-- Waits for a marker, for at most 20 s so that a broken run still ends.
local function await(name)
  local deadline = os.time() + 20
  while not exists(name) do
    if os.time() > deadline then error("gave up waiting for " .. name) end
  end
end
]] .. support.BUSY

local function exists(path) return testing.read_file(path) ~= nil end


-- True once every worker 1..n has made the marker prefix .. worker.
local function all_markers(dir, prefix, n)
  return function()
    for w = 1, n do
      if not exists(("%s/%s%d"):format(dir, prefix, w)) then return false end
    end
    return true
  end
end

-- The environment of runs whose exit is timed. A ThreadSanitizer build
-- sleeps 1 s at exit while other threads live (its atexit_sleep_ms), which
-- is the case when a second signal ends the process at once: turn it off,
-- keeping the options CTest set (where its reports go).
local function timed_env()
  local tsan = os.getenv("TSAN_OPTIONS")
  return {TSAN_OPTIONS = (tsan and tsan ~= "" and tsan .. ":" or "") .. "atexit_sleep_ms=0"}
end

-- Sends signal to a spawned run once ready() holds, waits for the end and
-- returns the run's result and the seconds from the signal to the exit.
-- The run is ended in any case; an error is raised afterwards if ready()
-- never held.
local function stop_when(proc, ready, signal, ready_timeout)
  local ok = testing.wait_for(ready, ready_timeout or 20)
  local t0 = system.monotime()
  proc.kill(signal)
  local r = proc.wait(5)
  local elapsed = system.monotime() - t0
  assert(ok, "the run never reached the state to signal; stderr: " .. r.stderr)
  return r, elapsed
end

-- Starts job over the items 1..10 on two workers, with dir as
-- luaworkq.args.dir and the options more after those.
local function spawn_over_10(dir, job, more)
  local items = testing.write_file(dir .. "/items.txt", numbers(10))
  local args = {"-j", "2", "--set", "dir=" .. dir}
  for _, a in ipairs(more or {}) do args[#args + 1] = a end
  return testing.spawn{job_source = job, files = {items}, args = args, env = timed_env()}
end

local function both_shutdowns_ran(dir)
  assert.is_true(exists(dir .. "/shutdown-1") and exists(dir .. "/shutdown-2"))
end

-- Asserts that the run exited less than 1 s after the signal (after what).
local function within_1s(elapsed, what)
  assert.is_true(elapsed < 1, ("took %.3f s from %s to the exit")
                                :format(elapsed, what or "the signal"))
end

describe("without -k, a failing item", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  -- With -j2: item 1 runs on one worker until the other worker's shutdown
  -- has begun, that is, past the stop; item 2 fails on the other worker once
  -- item 1 runs. Every item that starts leaves a marker.
  local JOB = PRELUDE .. [[
function process(item, index)
  touch("item-" .. index)
  if index == 1 then
    touch("running")
    await("shutdown-" .. (3 - luaworkq.worker))
    return "first"
  elseif index == 2 then
    await("running")
    error("bad item")
  end
  return item
end
function shutdown() touch("shutdown-" .. luaworkq.worker) end
]]

  -- {format, what stdout holds: the result of item 1 only}
  local formats = {
    {"json", '["first"]\n'},
    {"ndjson", '"first"\n'},
    {"lines", "first\n"},
  }
  for _, case in ipairs(formats) do
    it("with -f " .. case[1] .. ": no new item starts, the running item finishes, "
       .. "every shutdown runs, the output is closed, exit 1 and a summary", function()
      local items = testing.write_file(dir .. "/items.txt", numbers(10))
      local r = testing.run{job_source = JOB, files = {items},
                            args = {"-j", "2", "-f", case[1], "--set", "dir=" .. dir}}
      assert.are.same({1, case[2]}, {r.code, r.stdout})
      assert.matches("^luaworkq: item 2 %(" .. items:gsub("%p", "%%%0")
                     .. ":2%) failed: [^\n]*:%d+: bad item\nstack traceback:\n", r.stderr)
      assert.are.equal("luaworkq: stopped: 1 done, 1 failed, 8 not processed",
                       last_line(r.stderr))
      both_shutdowns_ran(dir)
      for i = 3, 10 do assert.is_false(exists(dir .. "/item-" .. i), "item " .. i .. " started") end
    end)
  end

  -- Many small items on 4 workers: lines must not be torn by the stop.
  local MANY = [[
function process(item, index)
  if index == 3000 then error("bad item") end
  return "item " .. index .. " " .. string.rep("x", index % 50)
end
]]
  for _, format in ipairs{"ndjson", "lines"} do
    it("with -f " .. format .. " and -j4 over 20,000 items leaves only whole lines", function()
      local items = testing.write_file(dir .. "/items.txt", numbers(20000))
      local r = testing.run{job_source = MANY, files = {items}, args = {"-j", "4", "-f", format}}
      assert.are.equal(1, r.code)
      -- Empty if item 1 was not started when the stop came: the prefix
      -- ends before it.
      assert.is_true(r.stdout == "" or r.stdout:sub(-1) == "\n", r.stdout:sub(-80))
      local count, previous = 0, 0
      for line in r.stdout:gmatch("([^\n]*)\n") do
        if format == "ndjson" then line = assert(line:match('^"(.*)"$'), line) end
        local index, xs = line:match("^item (%d+) (x*)$")
        index = assert(tonumber(index), "torn line: " .. line)
        assert.are.equal(index % 50, #xs)
        assert.is_true(index > previous and index ~= 3000)
        count, previous = count + 1, index
      end
      local done, failed, rest = last_line(r.stderr):match(
        "^luaworkq: stopped: (%d+) done, (%d+) failed, (%d+) not processed$")
      assert.are.same({count, 1, 20000},
                      {tonumber(done), tonumber(failed), done + failed + rest})
    end)
  end
end)

describe("SIGINT and SIGTERM", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  -- Items 1 and 2 finish (20 ms each, so that batches hold one item); the
  -- others spin in pure Lua, each worker marking that it spins.
  local SPIN = PRELUDE .. [[
function process(item, index)
  if index <= 2 then busy(0.02) return index end
  touch("spinning-" .. luaworkq.worker)
  while true do end
end
function shutdown() touch("shutdown-" .. luaworkq.worker) end
]]

  -- {signal, exit code}
  for _, sig in ipairs{{"INT", 130}, {"TERM", 143}} do
    it("SIG" .. sig[1] .. " while both workers run `while true do end`: exit "
       .. sig[2] .. " within 1 s, every shutdown runs, finished results written", function()
      local proc = spawn_over_10(dir, SPIN)
      local r, elapsed = stop_when(proc, all_markers(dir, "spinning-", 2), sig[1])
      assert.are.same({sig[2], "[1,2]\n", "luaworkq: interrupted: 2 done, 0 failed, 8 not processed\n"},
                      {r.code, r.stdout, r.stderr})
      both_shutdowns_ran(dir)
      within_1s(elapsed)
    end)
  end

  -- {format or -o, what the output holds}
  local outputs = {
    {{"-f", "ndjson"}, "1\n2\n"},
    {{"-f", "lines"}, "1\n2\n"},
    {{"-o", "out.json"}, "[1,2]\n", file = true},
    {{"-f", "ndjson", "--unordered"}, "1\n2\n", sort = true},
  }
  for _, case in ipairs(outputs) do
    it("SIGINT with " .. table.concat(case[1], " ") .. ": the output is closed, well-formed",
      function()
        local out = testing.tmpdir()
        local more = {}
        for _, a in ipairs(case[1]) do
          more[#more + 1] = a == "out.json" and out .. "/out.json" or a
        end
        local proc = spawn_over_10(dir, SPIN, more)
        local r, elapsed = stop_when(proc, all_markers(dir, "spinning-", 2), "INT")
        local listing, written = listdir(out), testing.read_file(out .. "/out.json")
        testing.remove_tree(out)
        assert.are.equal(130, r.code)
        if case.file then
          assert.are.same({"", case[2], {"out.json"}}, {r.stdout, written, listing})
        elseif case.sort then
          local lines = {}
          for line in r.stdout:gmatch("[^\n]*\n") do lines[#lines + 1] = line end
          table.sort(lines)
          assert.are.equal(case[2], table.concat(lines))
        else
          assert.are.equal(case[2], r.stdout)
        end
        local holds = case.file and "; " .. out .. "/out.json holds the first 2 results" or ""
        assert.are.equal("luaworkq: interrupted: 2 done, 0 failed, 8 not processed" .. holds
                         .. "\n", r.stderr)
        within_1s(elapsed)
      end)
  end

  -- {how an item spins in Lua}: every item spins, so nothing is done.
  local endless = support.ENDLESS
  local loops = {endless.pcall, endless.tail_calls, endless.sort, endless.c_calls,
                 endless.coroutine}

  -- Asserts that a run over 10 items signalled before any result exited
  -- with code within 1 s, the output an empty array, every shutdown run.
  local function stopped_before_any_result(dir, r, elapsed, code)
    assert.are.same({code, "[]\n", "luaworkq: interrupted: 0 done, 0 failed, 10 not processed\n"},
                    {r.code, r.stdout, r.stderr})
    both_shutdowns_ran(dir)
    within_1s(elapsed)
  end

  for _, case in ipairs(loops) do
    it("SIGTERM interrupts " .. case[1] .. " within 1 s", function()
      local job = PRELUDE .. "function process(item, index)\n"
        .. "  touch('spinning-' .. luaworkq.worker)\n" .. case[2] .. "\nend\n"
        .. "function shutdown() touch('shutdown-' .. luaworkq.worker) end\n"
      local proc = spawn_over_10(dir, job)
      local r, elapsed = stop_when(proc, all_markers(dir, "spinning-", 2), "TERM")
      stopped_before_any_result(dir, r, elapsed, 143)
    end)
  end

  it("SIGINT while init spins: exit 130 within 1 s, shutdown runs, nothing reported failed",
    function()
      local proc = spawn_over_10(dir, PRELUDE .. [[
function init() touch("init-" .. luaworkq.worker) while true do end end
function process(item) return item end
function shutdown() touch("shutdown-" .. luaworkq.worker) end
]])
      local r, elapsed = stop_when(proc, all_markers(dir, "init-", 2), "INT")
      stopped_before_any_result(dir, r, elapsed, 130)
    end)

  it("SIGTERM while setup spins: exit 143 within 1 s, every item counted not processed",
    function()
      local proc = spawn_over_10(dir, PRELUDE .. [[
function setup() touch("setup") while true do end end
function process(item) return item end
]])
      local r, elapsed = stop_when(proc, dir .. "/setup", "TERM")
      assert.are.same({143, "luaworkq: interrupted: 0 done, 0 failed, 10 not processed\n"},
                      {r.code, r.stderr})
      within_1s(elapsed)
    end)

  -- {signal, exit code}
  for _, sig in ipairs{{"INT", 130}, {"TERM", 143}} do
    it("a second SIG" .. sig[1] .. " ends the process at once while every shutdown spins",
      function()
        local proc = spawn_over_10(dir, PRELUDE .. [[
function process(item) touch("spinning-" .. luaworkq.worker) while true do end end
function shutdown() touch("shutdown-" .. luaworkq.worker) while true do end end
]])
        local started = testing.wait_for(all_markers(dir, "spinning-", 2), 30)
        proc.kill(sig[1])
        local r, elapsed = stop_when(proc, all_markers(dir, "shutdown-", 2), sig[1])
        assert.is_true(started, "the items never started")
        assert.are.equal(sig[2], r.code)
        within_1s(elapsed, "the second signal")
      end)
  end

  it("SIGTERM while standard input is a pipe still open: the items that came are "
     .. "processed, the stop does not wait for more, the summary says 0+", function()
    local fifo = dir .. "/fifo"
    assert.is_true(os.execute("mkfifo " .. quote(fifo)))
    -- Opened read-write, the FIFO neither blocks here nor ever reaches
    -- its end while the spec holds it.
    local pipe = assert(io.open(fifo, "r+"))
    assert(pipe:write("1\n2\n3\n"))
    assert(pipe:flush())
    local job = PRELUDE .. [[
function process(item, index) touch("item-" .. index) return index end
]]
    local proc = testing.spawn{job_source = job, files = {fifo}, env = timed_env(),
                               args = {"-j", "2", "--set", "dir=" .. dir}}
    local ok, r, elapsed = pcall(stop_when, proc, dir .. "/item-3", "TERM", 3)
    pipe:close()
    assert(ok, r)
    assert.are.same({143, "[1,2,3]\n", "luaworkq: interrupted: 3 done, 0 failed, 0+ not processed\n"},
                    {r.code, r.stdout, r.stderr})
    within_1s(elapsed)
  end)
end)

describe("a closed output pipe", function()
  local dir
  setup(function()
    dir = testing.tmpdir()
    testing.write_file(dir .. "/items.txt", numbers(100000))
    -- 100,000 items of 1 ms: the whole run would take a minute or more.
    testing.write_file(dir .. "/job.lua", PRELUDE .. [[
function process(item, index) busy(0.001) return index end
]])
  end)
  teardown(function() testing.remove_tree(dir) end)

  -- {format, the command that reads the output and closes the pipe}
  local cases = {
    {"ndjson", "head -n 1"},
    {"lines", "head -n 1"},
    {"json", "head -c 1"},
    {"ndjson", "true"},
  }
  for _, case in ipairs(cases) do
    it(("(-f %s | %s) ends the run at once and quietly, with exit 141"):format(case[1], case[2]),
      function()
        local bin = os.getenv("LUAWORKQ") or "luaworkq"
        local cmd = ("set -o pipefail; %s -j 2 -f %s %s %s 2>%s | %s >/dev/null"):format(
          quote(bin), case[1], quote(dir .. "/job.lua"), quote(dir .. "/items.txt"),
          quote(dir .. "/stderr"), case[2])
        local t0 = system.monotime()
        local _, _, code = os.execute("bash -c " .. quote(cmd))
        local elapsed = system.monotime() - t0
        assert.are.same({141, ""}, {code, testing.read_file(dir .. "/stderr")})
        assert.is_true(elapsed < 3, ("took %.3f s"):format(elapsed))
      end)
  end
end)

describe("a script that misbehaves", function()
  -- {what process does to item 3, the message after "failed: " or a pattern}
  local bad = {
    {"returns a function", "return {f = print}", "result.f: cannot transfer a function"},
    {"returns a cycle", "local t = {} t.self = t return t", "result.self: cannot transfer a cycle"},
    {"returns NaN", "return {n = 0/0}", "result.n: cannot encode NaN"},
    {"returns tables nested 10,000 deep",
      "local t = {} for i = 1, 10000 do t = {t} end return t",
      pattern = "result%[1%][^\n]*: nested deeper than 200 levels"},
    {"raises a table without __tostring", "error({})", "(error object is a table value)"},
    {"raises nil", "error()", "(error object is a nil value)"},
    {"calls os.exit", "os.exit(0)",
      pattern = "[^\n]*:%d+: os%.exit is not available in a luaworkq job[^\n]*"},
  }
  for _, case in ipairs(bad) do
    local function job(body)
      return "function process(item, index)\n  if index == 3 then\n" .. body
        .. "\n  end\n  return index\nend\n"
    end
    local function check_report(stderr)
      local prefix = "luaworkq: item 3 (stdin:3) failed: "
      if case.pattern then
        assert.matches("^" .. prefix:gsub("%p", "%%%0") .. case.pattern .. "\n", stderr)
      else
        assert.are.equal(prefix .. case[3], first_line(stderr))
      end
    end

    it("that " .. case[1] .. " with -k: that item fails, every other result is written",
      function()
        local r = testing.run{job_source = job(case[2]), items = {"a", "b", "c", "d", "e"},
                              args = {"-k", "-j", "2"}}
        assert.are.same({1, "[1,2,4,5]\n"}, {r.code, r.stdout})
        check_report(r.stderr)
        assert.are.equal("luaworkq: 4 done, 1 failed", last_line(r.stderr))
      end)

    it("that " .. case[1] .. " without -k: the run stops, the results before it are written",
      function()
        local r = testing.run{job_source = job(case[2]), items = {"a", "b", "c", "d", "e"},
                              args = {"-j", "1"}}
        assert.are.same({1, "[1,2]\n"}, {r.code, r.stdout})
        check_report(r.stderr)
        assert.are.equal("luaworkq: stopped: 2 done, 1 failed, 2 not processed",
                         last_line(r.stderr))
      end)
  end

  -- {the hook, a job whose hook raises ERR, the pattern of the hook's name
  -- in the report, what stdout holds (false: any JSON)}. The job lists the
  -- items 1..20 or, with merge, sums them.
  local LIST = "function process(item) return tonumber(item) end\n"
  local SUM = LIST .. "function merge(a, b) return a + b end\n"
  local hooks = {
    {"setup", LIST .. "function setup() ERR end", "setup failed", ""},
    {"init", LIST .. "function init() ERR end", "init failed in worker [12]", "[]\n"},
    {"merge", LIST .. "function merge(a, b) ERR end", "merge failed[%w ]*", false},
    {"finish", SUM .. "function finish(v) ERR end", "finish failed", ""},
    {"shutdown", LIST .. "function shutdown() ERR end", "shutdown failed in worker [12]",
      "[" .. numbers(20):gsub("\n(.)", ",%1"):gsub("\n$", "]\n")},
  }
  -- {what the hook raises, the code, the message in the report}
  local errors = {
    {"an error", "error('boom')", "[^\n]*:%d+: boom"},
    {"a table without __tostring", "error({})", "%(error object is a table value%)"},
    {"a table with __tostring",
      "error(setmetatable({}, {__tostring = function() return 'custom' end}))", "custom"},
    {"os.exit", "os.exit(1)", "[^\n]*:%d+: os%.exit is not available[^\n]*"},
  }
  for _, hook in ipairs(hooks) do
    for _, err in ipairs(errors) do
      it(hook[1] .. " that raises " .. err[1] .. ": exit 1, one report naming the hook",
        function()
          local r = testing.run{job_source = hook[2]:gsub("ERR", err[2]),
                                input = numbers(20), args = {"-j", "2"}}
          assert.are.equal(1, r.code)
          assert.matches("^luaworkq: " .. hook[3] .. ": " .. err[3] .. "\n", r.stderr)
          if hook[1] ~= "merge" then  -- merge: see the next test
            local _, reports = r.stderr:gsub("luaworkq: " .. hook[1] .. " failed", "")
            assert.are.equal(1, reports, "the failure is reported once:\n" .. r.stderr)
          end
          if hook[4] then
            assert.are.equal(hook[4], r.stdout)
          else
            assert.is_true(r.stdout == "" or r.output ~= nil, "not JSON: " .. r.stdout)
          end
        end)
    end
  end

  -- Workers merge the items of a batch, the host merges batches: whichever
  -- fails first, the failure is reported once. Which one it is depends on
  -- timing, hence several runs.
  it("merge that raises an error is reported once, in 8 runs over 2,000 items", function()
    for _ = 1, 8 do
      local r = testing.run{job_source = LIST .. "function merge(a, b) error('boom') end",
                            input = numbers(2000), args = {"-j", "2"}}
      assert.are.equal(1, r.code)
      local _, reports = r.stderr:gsub("luaworkq: merge failed", "")
      assert.are.equal(1, reports, "the failure is reported once:\n" .. r.stderr)
    end
  end)
end)

describe("a signal during the stop after a failing item", function()
  it("still interrupts an item that never ends: exit 130 within a second", function()
    local dir = testing.tmpdir()
    local job = testing.write_file(dir .. "/job.lua", [[
      local dir = luaworkq.args.dir
      function process(x)
        if x == "2" then
          assert(io.open(dir .. "/spinning", "w")):close()
          while true do end
        end
        while not io.open(dir .. "/spinning") do end  -- fail once item 2 spins
        assert(io.open(dir .. "/failing", "w")):close()
        error("bad")
      end]])
    local proc = testing.spawn{job = job, items = {"1", "2"},
                               args = {"-j", "2", "--set", "dir=" .. dir}}
    assert.truthy(testing.wait_for(dir .. "/failing", 30))
    local t0 = os.time()
    proc.kill("INT")
    local r = proc.wait(5)
    assert.are.equal(130, r.code)
    assert.is_true(os.time() - t0 <= 2)
    assert.matches("luaworkq: interrupted: 0 done, %d failed, %d not processed\n$", r.stderr)
    testing.remove_tree(dir)
  end)
end)
