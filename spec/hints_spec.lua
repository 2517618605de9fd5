-- Where newcomers slip: operands swapped (the items file given as the job),
-- a hook misspelled or made local (luaworkq would never call it), an option
-- one edit away from a real one. Each gets a message that names the slip.
local testing = require "luaworkq.testing"
local support = require "support"

local run_in = support.run_in

local dir
support.tmpdir_each(function(path) dir = path end)

local function write(name, text) return testing.write_file(dir .. "/" .. name, text) end

-- The lines of s, sorted (warnings about globals come in no set order).
local function sorted_lines(s)
  local t = support.lines_of(s)
  table.sort(t)
  return t
end

describe("swapped operands", function()
  it("are named: the items file does not compile as a job script", function()
    write("nums.txt", "1\n2\n3\n")
    write("job.lua", "function process(s) return s end\n")
    local code, stderr = run_in(dir, {"nums.txt", "job.lua"})
    assert.same({2, "luaworkq: nums.txt does not compile as a job script; is it the items "
                    .. "file? usage: luaworkq JOB.lua [ITEMS] (nums.txt:1: unexpected symbol "
                    .. "near '1')\n"}, {code, stderr})
    -- A job script named .lua that does not compile gets Lua's message alone.
    write("bad.lua", "function process(s) return s\n")
    code, stderr = run_in(dir, {"bad.lua", "nums.txt"})
    assert.same({2, "luaworkq: bad.lua:2: 'end' expected (to close 'function' at line 1) "
                    .. "near <eof>\n"}, {code, stderr})
  end)
end)

describe("a misspelled hook", function()
  local JOB = [[
function process(s) return 1 end
function marge(a, b) return a + b end
function Finish(n) return n end
function exit() end
function helper() end
local function setup() end
]]
  local WARNINGS = {
    "luaworkq: warning: job.lua:2: function 'marge' is not a hook, and luaworkq will not "
      .. "call it; did you mean 'merge'?",
    "luaworkq: warning: job.lua:3: function 'Finish' is not a hook, and luaworkq will not "
      .. "call it; did you mean 'finish'?",
    "luaworkq: warning: job.lua:6: 'setup' is local, and luaworkq calls only global "
      .. "functions (drop 'local')",
  }
  table.sort(WARNINGS)

  it("is named by --check, as a warning: the job still checks", function()
    write("job.lua", JOB)
    local code, stderr = run_in(dir, {"--check", "job.lua"})
    assert.equals(0, code)
    assert.same(WARNINGS, sorted_lines(stderr))
  end)

  it("is named by every run, which goes on as a list job", function()
    write("job.lua", JOB)
    write("items.txt", "a\nb\n")
    local code, stderr = run_in(dir, {"-o", "out.json", "job.lua", "items.txt"})
    assert.equals(0, code)
    assert.same(WARNINGS, sorted_lines(stderr))
    assert.equals("[1,1]\n", testing.read_file(dir .. "/out.json"))
  end)

  it("is not named when the hook it is near is defined", function()
    -- (A global setup after the local one would assign the local.)
    write("job.lua", JOB:gsub("local function setup", "function setup")
                     .. "function merge(a, b) return a + b end\n"
                     .. "function finish(n) return n end\n")
    local code, stderr = run_in(dir, {"--check", "job.lua"})
    assert.same({0, ""}, {code, stderr})
    -- A local of another name is no hook's.
    write("job.lua", "function process(s) return s end\nlocal function process2() end\n"
                     .. "function marge() end\n")
    code, stderr = run_in(dir, {"--check", "job.lua"})
    assert.same({0, "luaworkq: warning: job.lua:3: function 'marge' is not a hook, and "
                    .. "luaworkq will not call it; did you mean 'merge'?\n"}, {code, stderr})
  end)
end)

describe("a local function process", function()
  it("is named where the job has no global process", function()
    write("job.lua", "-- a job\nlocal function process(s)\n  return s\nend\n")
    local code, stderr = run_in(dir, {"--check", "job.lua"})
    assert.same({2, "luaworkq: job.lua: no 'process' function: job.lua:2 defines a local "
                    .. "'process', but luaworkq calls only global functions (drop 'local')\n"},
                {code, stderr})
  end)
end)

describe("an option one or two edits from a real one", function()
  local cases = {
    {"--jobz", "--jobs"}, {"--outptu", "--output"}, {"--quite", "--quiet"},
    {"--retires", "--retries"}, {"--unorderd", "--unordered"},
  }
  for _, case in ipairs(cases) do
    it(("gets a did-you-mean: %s → %s"):format(case[1], case[2]), function()
      local code, stderr = run_in(dir, {case[1], "job.lua"})
      assert.same({2, ("luaworkq: unknown option %s; did you mean %s? (see luaworkq "
                       .. "--help)\n"):format(case[1], case[2])}, {code, stderr})
    end)
  end

  it("gets one only when something is near", function()
    local code, stderr = run_in(dir, {"--jobz=3", "job.lua"})
    assert.same({2, "luaworkq: unknown option --jobz; did you mean --jobs? (see luaworkq "
                    .. "--help)\n"}, {code, stderr})
    code, stderr = run_in(dir, {"--zzzz", "job.lua"})
    assert.same({2, "luaworkq: unknown option --zzzz (see luaworkq --help)\n"}, {code, stderr})
  end)
end)
