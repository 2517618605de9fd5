-- What a user sees on stderr: the progress line under a terminal, --stats,
-- --quiet. The terminal is real: script(1) gives the binary a pseudo-tty.
local testing = require "luaworkq.testing"
local support = require "support"

local bin = assert(os.getenv("LUAWORKQ"), "LUAWORKQ is not set")
local ERASE = "\r\27[K"

local dir
support.tmpdir_all(function(path) dir = path end)

-- A job that works a little on each item and logs every 5000th.
local JOB = [[
function process(item, i)
  local x = 0
  for k = 1, 3000 do x = x + k % 7 end
  if i % 5000 == 0 then luaworkq.log("LOG", i) end
  return i
end
]]

local function items(n)
  local t = {}
  for i = 1, n do t[i] = tostring(i) end
  return table.concat(t, "\n") .. "\n"
end

-- Runs the binary under script(1); returns what the terminal received and
-- the run's stdout (redirected to a file inside the terminal).
local function run_in_terminal(args, n)
  local job = testing.write_file(dir .. "/job.lua", JOB)
  local input = testing.write_file(dir .. "/items.txt", items(n))
  local out = dir .. "/out.txt"
  local words = {testing.quote(bin)}
  for _, a in ipairs(args) do words[#words + 1] = testing.quote(a) end
  words[#words + 1] = testing.quote(job)
  words[#words + 1] = testing.quote(input)
  local cmd = table.concat(words, " ") .. " > " .. testing.quote(out)
  local p = assert(io.popen("script -qec " .. testing.quote(cmd) .. " /dev/null"))
  local tty = p:read("a")
  p:close()
  return tty, testing.read_file(out)
end

local function count(s, pattern)
  local n = 0
  for _ in s:gmatch(pattern) do n = n + 1 end
  return n
end

describe("under a terminal", function()
  local started, tty, out
  setup(function()
    started = os.time()
    tty, out = run_in_terminal({"-f", "ndjson", "-j", "2"}, 60000)
  end)

  it("shows a progress line with done of total, percent, items/s, ETA and failures",
    function()
      assert.matches("luaworkq: %d+ of 60000 %(%d+%%%), ETA %d+:%d%d, %d+ items/s, 0 failed",
                     tty)
    end)

  it("erases the progress line at the end: the terminal ends clean", function()
    assert.equals(ERASE, tty:sub(-#ERASE))
  end)

  it("redraws it at most ten times a second", function()
    -- Each of the 12 log lines also draws the line again below it.
    local seconds = os.time() - started + 1
    local draws = count(tty, "items/s") - count(tty, "LOG\t")
    assert.is_true(draws <= 10 * seconds + 2, draws .. " draws in " .. seconds .. " s")
  end)

  it("never mixes it into a luaworkq.log line", function()
    -- Every log line stands whole: it starts the terminal's output or comes
    -- right after an erase or a newline, and ends with a newline.
    for i = 5000, 60000, 5000 do
      local line = "LOG\t" .. i
      local at = tty:find(line, 1, true)
      assert.truthy(at, line)
      local before = tty:sub(1, at - 1)
      assert.is_true(at == 1 or before:sub(-#ERASE) == ERASE or before:sub(-1) == "\n",
                     line .. " starts a line")
      assert.equals("\r\n", tty:sub(at + #line, at + #line + 1))
    end
  end)

  it("never writes it to stdout", function()
    assert.equals(items(60000), out)
  end)
end)

describe("the progress line", function()
  it("is off with --no-progress and with -q", function()
    for _, opt in ipairs{"--no-progress", "-q"} do
      local tty = run_in_terminal({opt}, 2000)
      assert.is_nil(tty:find("items/s", 1, true), opt)
    end
  end)

  it("is off without a terminal unless --progress asks for it", function()
    local r = testing.run{job_source = JOB, input = items(2000)}
    assert.equals("", r.stderr)
    r = testing.run{job_source = JOB, input = items(20000), args = {"--progress"}}
    assert.matches("items/s", r.stderr)
    assert.equals(0, r.code)
  end)
end)

describe("--stats", function()
  it("prints done, failed, no result, not processed, time and rate, and each worker",
    function()
      local job = [[
        function process(item, i)
          if i % 10 == 0 then return nil end
          if i == 7 then error("seven") end
          return i
        end]]
      local r = testing.run{job_source = job, input = items(100),
                            args = {"--stats", "-k", "-j", "3"}}
      assert.equals(1, r.code)
      assert.matches("luaworkq: 10 without a result, 0 not processed; [%d.]+ s, %d+ items/s\n",
                     r.stderr)
      local sum = 0
      for w, n in r.stderr:gmatch("luaworkq: worker (%d): (%d+) items, busy [%d.]+ s %(%d+%%%)\n") do
        sum = sum + tonumber(n)
      end
      assert.equals(100, sum)
      assert.matches("luaworkq: 99 done, 1 failed\n$", r.stderr)
    end)

  it("prints nothing more with -q", function()
    local r = testing.run{job_source = "function process(s) return s end",
                          input = items(10), args = {"--stats", "-q"}}
    assert.equals("", r.stderr)
  end)
end)

describe("a clean run without a terminal", function()
  it("prints nothing on stderr but what the script logs", function()
    local r = testing.run{job_source = [[
      function process(s, i) if i == 3 then luaworkq.log("three") end return s end]],
      input = items(10)}
    assert.equals(0, r.code)
    assert.equals("three\n", r.stderr)
  end)
end)
