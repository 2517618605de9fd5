-- The line that ends a stopped run says what -o FILE holds ("out.json
-- holds the first 61 results"), says "stopped" only when items were left,
-- and --max-failures N stops at the N+1th failure without running on past
-- it by more than the items already running, even for cheap items.
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
    it(("stops at the failure past %d, plus at most one item per other worker"):format(n),
      function()
        for _ = 1, 2 do
          local r = testing.run{job_source = JOB, input = numbers(20000),
                                args = {"-k", "-j", "2", "--max-failures", tostring(n)}}
          assert.equals(1, r.code)
          local done, failed, left = last_line(r.stderr):match(
            ("^luaworkq: stopped %%(more than %d items? failed%%): (%%d+) done, (%%d+) "
             .. "failed, (%%d+) not processed$"):format(n))
          assert.truthy(done, last_line(r.stderr))
          assert.is_true(tonumber(failed) >= n + 1 and tonumber(failed) <= n + 2,
                         failed .. " failed")
          assert.equals(20000, done + failed + left)
        end
      end)
  end
end)
