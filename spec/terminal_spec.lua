-- What a user at a terminal sees: a hint when the items are to be typed,
-- a progress line from the start whose rate and ETA hold for slow items,
-- and a stop summary that says what happened and how to go on. The
-- terminal is real: script(1) gives the binary a pseudo-tty.
local testing = require "luaworkq.testing"
local support = require "support"

local quote = testing.quote
local bin = assert(os.getenv("LUAWORKQ"), "LUAWORKQ is not set")

local dir
support.tmpdir_all(function(path) dir = path end)

local function command(args)
  local words = {quote(bin)}
  for _, a in ipairs(args) do words[#words + 1] = quote(a) end
  return table.concat(words, " ")
end

-- Runs cmd (a shell command) under script(1), with its stdin. Returns
-- what the terminal received, and a function that gives the time (in
-- seconds from the start) at which the byte at an offset of it was written.
local function in_terminal(cmd, stdin)
  local log, timing = dir .. "/tty.log", dir .. "/tty.timing"
  os.execute("script -q -T " .. quote(timing) .. " -O " .. quote(log) .. " -c "
             .. quote(cmd) .. " <" .. quote(stdin or "/dev/null") .. " >/dev/null")
  local raw = testing.read_file(log)
  local chunks, bytes = {}, 0
  for delay, n in testing.read_file(timing):gmatch("([%d.]+) (%d+)\n") do
    chunks[#chunks + 1] = {tonumber(delay), bytes + tonumber(n)}
    bytes = bytes + tonumber(n)
  end
  -- The log has a line of its own before what the terminal received.
  local tty = raw:sub(#raw:match("^[^\n]*\n") + 1):sub(1, bytes)
  local function time_at(offset)
    local t = 0
    for _, c in ipairs(chunks) do
      t = t + c[1]
      if offset <= c[2] then return t end
    end
    return t
  end
  return tty, time_at
end

describe("standard input that is a terminal", function()
  it("gets a hint on how to end the items, before anything is read", function()
    local job = testing.write_file(dir .. "/job.lua", "function process(s) return s end")
    local tty = in_terminal(command{job} .. " >/dev/null")
    assert.truthy(tty:find("luaworkq: reading items from the terminal: type them, "
                           .. "then Ctrl-D to end\r\n", 1, true), tty)
  end)

  it("gets no hint with ITEMS, with -q or when it is not a terminal", function()
    local job = testing.write_file(dir .. "/job.lua", "function process(s) return s end")
    local items = testing.write_file(dir .. "/items.txt", "a\n")
    for _, cmd in ipairs{command{job, items}, command{"-q", job},
                         command{job} .. " </dev/null"} do
      local tty = in_terminal(cmd .. " >/dev/null")
      assert.is_nil(tty:find("reading items", 1, true), cmd)
    end
  end)
end)

describe("the progress line for slow items", function()
  -- Items that each take d seconds, on j workers: the true rate is j / d.
  -- Items of 2 s are drawn again while they run (every second).
  local cases = {{d = 1, n = 6, j = 2}, {d = 2, n = 4, j = 2}}
  for _, case in ipairs(cases) do
    it(("is drawn from the start, its rate and ETA within 25%% for items of %d s")
        :format(case.d), function()
      local job = testing.write_file(dir .. "/slow.lua", [[
        function process(s) os.execute("sleep " .. luaworkq.args.d) return s end]])
      local lines = {}
      for i = 1, case.n do lines[i] = tostring(i) end
      local items = testing.write_file(dir .. "/items.txt", table.concat(lines, "\n") .. "\n")
      local tty, time_at = in_terminal(command{"-j", tostring(case.j), "--set", "d=" .. case.d,
                                               "--stats", job, items} .. " >/dev/null")
      -- The first thing the terminal gets is the line, before any item ends
      -- (and maybe before the items are counted).
      assert.are.equal(1, tty:find("^\r\27%[Kluaworkq: 0[ ,]"), tty)
      assert.truthy(tty:find("\r\27[Kluaworkq: 0 of " .. case.n .. " (0%), ETA --:--", 1, true), tty)
      local ended = time_at(tty:find("luaworkq: %d+ without a result"))
      local rate = case.j / case.d
      local checked = 0
      for at, m, s, r in tty:gmatch("()luaworkq: %d+ of %d+ %(%d+%%%), ETA (%d+):(%d%d), ([%d.]+) items/s") do
        local eta, truth = tonumber(m) * 60 + tonumber(s), ended - time_at(at)
        -- The ETA is shown in whole seconds: half a second either way.
        assert.is_true(math.abs(eta - truth) <= 0.25 * truth + 0.5,
                       ("ETA %d s, the run ended %.2f s later (at %.2f s of %.2f s):\n%s")
                       :format(eta, truth, time_at(at), ended, tty))
        assert.is_true(math.abs(tonumber(r) - rate) <= 0.25 * rate,
                       ("%s items/s, truly %.2f"):format(r, rate))
        checked = checked + 1
      end
      assert.is_true(checked >= case.n / case.j - 1, tty)
    end)
  end
end)
