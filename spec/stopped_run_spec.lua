-- What a stopped run leaves behind: no merged value unless --partial (a
-- partial count must never look whole), -o FILE put in place for a merge
-- only when the run is complete, a summary that says so and how to go on;
-- and --max-failures, which stops a -k run that fails too often.
local testing = require "luaworkq.testing"

local support = require "support"
local numbers, last_line, listdir = support.numbers, support.last_line, support.listdir

-- Counts records; item 50 is a bad record. One worker, so that the stop
-- after it is the same every run.
local COUNT = [[
function process(s) if s == "50" then error("bad record") end return 1 end
function merge(a, b) return a + b end
function finish(n) return {count = n} end
]]

describe("a merge stopped by a failing item", function()
  local dir, items
  before_each(function()
    dir = testing.tmpdir()
    items = testing.write_file(dir .. "/items.txt", numbers(100))
  end)
  after_each(function() testing.remove_tree(dir) end)

  -- {what it does, the options, stdout, the summary}
  local cases = {
    {"writes no merged value, and the summary says --partial would", {"-j", "1"}, "",
      "luaworkq: stopped: 49 done, 1 failed, 50 not processed; no merged "
      .. "value written (--partial writes the items done)"},
    {"writes the value of the items done with --partial, and says it is partial",
      {"-j", "1", "--partial"}, '{"count":49}\n',
      "luaworkq: stopped: 49 done, 1 failed, 50 not processed; the merged "
      .. "value written is partial, of the items done"},
  }
  for _, case in ipairs(cases) do
    it(case[1], function()
      local r = testing.run{job_source = COUNT, files = {items}, args = case[2]}
      assert.are.same({1, case[3]}, {r.code, r.stdout})
      assert.are.equal(case[4], last_line(r.stderr))
    end)
  end

  it("leaves -o FILE as it was, without temporary files", function()
    local out = testing.write_file(dir .. "/out.json", "yesterday's\n")
    local r = testing.run{job_source = COUNT, files = {items}, args = {"-j", "1", "-o", out}}
    assert.are.same({1, ""}, {r.code, r.stdout})
    assert.are.equal("yesterday's\n", testing.read_file(out))
    assert.are.same({"items.txt", "out.json"}, listdir(dir))
    assert.matches("; " .. out:gsub("%p", "%%%0") .. " left as it was$", last_line(r.stderr))
  end)

  it("puts -o FILE in place with --partial", function()
    local out = testing.write_file(dir .. "/out.json", "yesterday's\n")
    local r = testing.run{job_source = COUNT, files = {items},
                          args = {"-j", "1", "-o", out, "--partial"}}
    assert.are.equal(1, r.code)
    assert.are.equal('{"count":49}\n', testing.read_file(out))
  end)

  it("with a journal, says that the same command resumes, and it does", function()
    local job = COUNT:gsub('if s == "50"', 'if s == "50" and os.getenv("BAD")')
    local args = {"-j", "1", "-o", dir .. "/out.json", "--journal", dir .. "/j"}
    local r = testing.run{job_source = job, files = {items}, args = args, env = {BAD = "1"}}
    assert.are.equal(1, r.code)
    assert.matches("; run the same command again to resume$", last_line(r.stderr))
    assert.is_nil(testing.read_file(dir .. "/out.json"))
    r = testing.run{job_source = job, files = {items}, args = args}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.are.equal('{"count":100}\n', testing.read_file(dir .. "/out.json"))
  end)

  it("writes the value with -k: the run went through, skipping what failed", function()
    local r = testing.run{job_source = COUNT, files = {items}, args = {"-k"}}
    assert.are.same({1, '{"count":99}\n'}, {r.code, r.stdout})
    assert.are.equal("luaworkq: 99 done, 1 failed", last_line(r.stderr))
  end)
end)

describe("a list stopped by a failing item", function()
  it("still puts -o FILE in place: the results before the stop, in order", function()
    local dir = testing.tmpdir()
    local out = dir .. "/out.json"
    local r = testing.run{job_source = [[
      function process(s) if s == "3" then error("no") end return tonumber(s) end]],
      items = {"1", "2", "3", "4"}, args = {"-j", "1", "-o", out}}
    assert.are.equal(1, r.code)
    assert.are.equal("[1,2]\n", testing.read_file(out))
    assert.are.equal("luaworkq: stopped: 2 done, 1 failed, 1 not processed; " .. out
                     .. " holds the first 2 results", last_line(r.stderr))
    testing.remove_tree(dir)
  end)
end)

describe("a run stopped by a signal", function()
  it("says interrupted, and with --journal how to resume", function()
    local dir = testing.tmpdir()
    local job = testing.write_file(dir .. "/job.lua", [[
      function process(s)
        if s == "3" then
          io.open(luaworkq.args.dir .. "/running", "w"):close()
          while true do end
        end
        return 1
      end
      function merge(a, b) return a + b end]])
    local run = testing.spawn{job = job, items = {"1", "2", "3", "4"},
      args = {"-j", "1", "--journal", dir .. "/j", "--set", "dir=" .. dir}}
    assert.is_true(testing.wait_for(dir .. "/running"))
    run.kill("INT")
    local r = run.wait()
    assert.are.same({130, ""}, {r.code, r.stdout})
    assert.are.equal("luaworkq: interrupted: 2 done, 0 failed, 2 not processed; no merged "
                     .. "value written (--partial writes the items done); run the same "
                     .. "command again to resume", last_line(r.stderr))
    testing.remove_tree(dir)
  end)
end)

describe("--max-failures with -k", function()
  -- Items that take a few ms each, so that batches hold few items and the
  -- stop comes soon after the bound is passed; every fifth item fails.
  local JOB = [[
    function process(s, i)
      local t = os.clock() + 0.003
      while os.clock() < t do end
      if i % 5 == 0 then error("no") end
      return i
    end]]

  -- {option value, stops?, the cause in the summary}
  local cases = {
    {"3", true, "more than 3 items failed"},
    {"10%", true, "more than 10% of the items failed"},
    {"25%", false},
    {"1000", false},
  }
  for _, case in ipairs(cases) do
    it((case[2] and "stops" or "does not stop") .. " a run with --max-failures " .. case[1],
      function()
        local r = testing.run{job_source = JOB, input = numbers(300),
                              args = {"-k", "-j", "2", "--max-failures", case[1]}}
        assert.are.equal(1, r.code)
        if case[2] then
          local failed, left = r.stderr:match("luaworkq: stopped %(" .. case[3]:gsub("%%", "%%%%")
                                              .. "%): %d+ done, (%d+) failed, (%d+) not processed\n$")
          assert.truthy(failed, r.stderr:sub(-300))
          assert.is_true(tonumber(left) > 0)
        else
          assert.matches("luaworkq: 240 done, 60 failed\n$", r.stderr)
        end
      end)
  end

  -- Exact counts at and around each bound, on one worker: {what fails
  -- (a Lua condition on i), items, option value, the summary's last line}.
  local bounds = {
    {"i <= 3", 300, "3", "luaworkq: 297 done, 3 failed"},
    {"i <= 3", 300, "2", "stopped (more than 2 items failed)"},
    {"i <= 3", 300, "0", "stopped (more than 0 items failed)"},
    {"false", 300, "0", ""},  -- a clean run says nothing
    {"i % 10 == 0", 200, "10%", "luaworkq: 180 done, 20 failed"},
    {"i % 10 == 0", 200, "9.9%", "stopped (more than 9.9% of the items failed)"},
    -- 49 of 99 fail: under 100 finished items a percentage never stops
    {"i % 2 == 0", 99, "10%", "luaworkq: 50 done, 49 failed"},
    -- passed at the last item: every item ran, so not "stopped"
    {"i % 2 == 0", 100, "49.9%", "luaworkq: 50 done, 50 failed (more than 49.9% of the items failed)"},
  }
  for _, case in ipairs(bounds) do
    local fails, n, value, summary = table.unpack(case)
    it(("with %d items of which those with %s fail, --max-failures %s ends: %s")
       :format(n, fails, value, summary), function()
      local r = testing.run{job_source = ("function process(s, i) if %s then error('no') end \z
                                          return i end"):format(fails),
                            input = numbers(n), args = {"-k", "-j", "1", "--max-failures", value}}
      assert.are.equal(fails == "false" and 0 or 1, r.code)
      local last = last_line(r.stderr)
      if summary:find("^stopped") then
        assert.are.equal("luaworkq: " .. summary, last:match("^(luaworkq: stopped %b()).*"))
        local done, failed, left = last:match(": (%d+) done, (%d+) failed, (%d+) not processed")
        assert.are.equal(n, done + failed + left)
      else
        assert.are.equal(summary, last)
      end
    end)
  end

  it("needs -k", function()
    local r = testing.run{job_source = JOB, input = numbers(3), args = {"--max-failures", "1"}}
    assert.are.same({2, "luaworkq: --max-failures needs -k (without -k the first failure "
                        .. "stops the run)\n"}, {r.code, r.stderr})
  end)

  it("refuses a value that is not N or P%", function()
    for _, v in ipairs{"x", "-1", "100%", "5%%", ""} do
      local r = testing.run{job_source = JOB, input = numbers(3), args = {"-k", "--max-failures", v}}
      assert.are.equal(2, r.code, v)
    end
  end)
end)
