-- The line that ends a stopped run says what -o FILE holds ("out.json
-- holds the first 61 results"), says "stopped" only when items were left,
-- and --max-failures N stops at the N+1th failure in input order without
-- running on past it by more than the items already running, even for
-- cheap items: what a run writes and counts does not depend on -j.
local testing = require "luaworkq.testing"
local support = require "support"

local numbers, last_line = support.numbers, support.last_line

local dir
support.tmpdir_each(function(path) dir = path end)

describe("the summary of a stopped list run with -o FILE", function()
  it("names what the file holds: the first results, in input order", function()
    local out = dir .. "/out.json"
    local r = testing.run{job_source = [[
      function process(s, i)
        if i == 62 then error("bad record") end
        return i
      end]], input = numbers(200), args = {"-j", "1", "-o", out}}
    assert.equals(1, r.code)
    assert.equals(("luaworkq: stopped: 61 done, 1 failed, 138 not processed; %s holds "
                   .. "the first 61 results"):format(out), last_line(r.stderr))
    local want = {}
    for i = 1, 61 do want[i] = i end
    assert.equals("[" .. table.concat(want, ",") .. "]\n", testing.read_file(out))
  end)

  it("counts results, not the items that returned nil", function()
    local out = dir .. "/out.ndjson"
    local r = testing.run{job_source = [[
      function process(s, i)
        if i == 3 then return nil end
        if i == 8 then error("bad record") end
        return i
      end]], input = numbers(10), args = {"-j", "1", "-f", "ndjson", "-o", out}}
    assert.equals(1, r.code)
    assert.equals(("luaworkq: stopped: 7 done, 1 failed, 2 not processed; %s holds "
                   .. "the first 6 results"):format(out), last_line(r.stderr))
    assert.equals("1\n2\n4\n5\n6\n7\n", testing.read_file(out))
  end)
end)

describe("a stop after the last item", function()
  it("is not called stopped: every item ran", function()
    local r = testing.run{job_source = [[
      function process(s, i) if i == 10 then error("bad record") end return i end]],
      input = numbers(10), args = {"-j", "1"}}
    assert.equals(1, r.code)
    assert.equals("luaworkq: 9 done, 1 failed", last_line(r.stderr))
  end)

  it("with --max-failures gives the counts and why", function()
    local r = testing.run{job_source = [[
      function process(s, i) if i >= 9 then error("bad record") end return i end]],
      input = numbers(10), args = {"-j", "1", "-k", "--max-failures", "1"}}
    assert.equals(1, r.code)
    assert.equals("luaworkq: 8 done, 2 failed (more than 1 item failed)", last_line(r.stderr))
  end)
end)

describe("--max-failures N on cheap items", function()
  -- Every tenth item fails; each costs next to nothing, so that a check
  -- made only as results are written would let many more fail meanwhile.
  local JOB = "function process(s, i) if i % 10 == 0 then error('no') end return i end"
  for _, n in ipairs{0, 10} do
    it(("ends at failure %d in input order, as with one worker"):format(n + 1), function()
      local want = {}
      for i = 1, 10 * (n + 1) - 1 do
        if i % 10 ~= 0 then want[#want + 1] = i end
      end
      for _ = 1, 2 do
        local r = testing.run{job_source = JOB, input = numbers(20000),
                              args = {"-k", "-j", "2", "-f", "ndjson", "--max-failures", tostring(n)}}
        assert.equals(1, r.code)
        assert.equals(("luaworkq: stopped (more than %d item%s failed): %d done, %d failed, "
                       .. "%d not processed"):format(n, n == 1 and "" or "s", 9 * (n + 1), n + 1,
                                                     20000 - 10 * (n + 1)),
                      last_line(r.stderr))
        assert.equals(table.concat(want, "\n") .. "\n", r.stdout)
        local reported = select(2, r.stderr:gsub("luaworkq: item %d+ %(stdin:%d+%) failed:", ""))
        assert.equals(n + 1, reported)
      end
    end)
  end
end)

describe("--max-failures N with a slow item before the failures", function()
  -- Item 1 fails last, once item 207 has failed; items 205 and 207 fail
  -- at once on the other worker, which by then takes batches of many
  -- items. In input order item 205 is the second failure: the run ends
  -- there, whatever ran after it meanwhile in the same batch and later.
  it("ends at the N+1th failure in input order, not at the N+1th to end", function()
    local flag = dir .. "/flag"
    local job = ([[
      local flag = %q
      function process(s, i)
        if i == 1 then
          local deadline = os.time() + 20  -- a guard: the flag comes first
          repeat
            local f = io.open(flag)
            if f then f:close() break end
          until os.time() > deadline
          error("slow one")
        end
        if i == 207 then io.open(flag, "w"):close() end
        if i == 205 or i == 207 then error("bad " .. i) end
        return i
      end]]):format(flag)
    local out = dir .. "/out.ndjson"
    local r = testing.run{job_source = job, input = numbers(400),
                          args = {"-k", "-j", "2", "-f", "ndjson", "--max-failures", "1",
                                  "-o", out}}
    assert.equals(1, r.code)
    local want = {}
    for i = 2, 204 do want[#want + 1] = i .. "\n" end
    assert.equals(table.concat(want), testing.read_file(out))
    local failed = {}
    for index in r.stderr:gmatch("luaworkq: item (%d+) %(") do failed[#failed + 1] = index end
    assert.same({"1", "205"}, failed)
    assert.matches("^luaworkq: stopped %(more than 1 item failed%): 203 done, 2 failed, %d+%+? "
                   .. "not processed; .* holds the first 203 results$", last_line(r.stderr))
  end)
end)

describe("--max-failures P%", function()
  -- Every fifth item fails: exactly 20% of every prefix of 5k items, more
  -- in between, so only the count in input order tells 20% from 19%.
  local JOB = "function process(s, i) if i % 5 == 0 then error('no') end return i end"
  it("counts the failures in input order, from the 100th item", function()
    for _ = 1, 3 do
      local r = testing.run{job_source = JOB, input = numbers(3000),
                            args = {"-k", "-j", "2", "--max-failures", "20%"}}
      assert.equals(1, r.code)
      assert.equals("luaworkq: 2400 done, 600 failed", last_line(r.stderr))
      r = testing.run{job_source = JOB, input = numbers(3000),
                      args = {"-k", "-j", "2", "--max-failures", "19%"}}
      assert.equals(1, r.code)
      assert.equals("luaworkq: stopped (more than 19% of the items failed): 80 done, "
                    .. "20 failed, 2900 not processed", last_line(r.stderr))
    end
  end)
end)
