-- Results and the progress line on one terminal: when stdout and stderr
-- are the same terminal, no line of the screen ever holds both, and every
-- result stays on the screen. The terminal is real (script(1) gives the
-- binary a pseudo-tty); what it shows is worked out from the bytes it got
-- by a small emulation of the few controls luaworkq writes.
local testing = require "luaworkq.testing"
local support = require "support"

local quote = testing.quote
local bin = assert(os.getenv("LUAWORKQ"), "LUAWORKQ is not set")

local dir
support.tmpdir_all(function(path) dir = path end)

-- Each item keeps a worker busy a little, so that the progress line is
-- drawn while results come in.
local JOB = support.BUSY .. [[
function process(s, i)
  busy(0.01)
  if s == luaworkq.args.fail then error("thirteen") end
  return {i = i}
end
]]

-- Runs luaworkq with args and the job under script(1), stdout and stderr
-- both on its terminal, standard input from the file stdin (typed at the
-- terminal) or /dev/null. Returns what the terminal received.
local function in_terminal(args, stdin)
  local words = {quote(bin)}
  for _, a in ipairs(args) do words[#words + 1] = quote(a) end
  table.insert(words, 2, quote(testing.write_file(dir .. "/job.lua", JOB)))
  local cmd = table.concat(words, " ")
  local p = assert(io.popen("script -qec " .. quote(cmd) .. " /dev/null <"
                            .. quote(stdin or "/dev/null")))
  local tty = p:read("a")
  p:close()
  return tty
end

-- The screen after tty, as a list of lines. check(line) is called with the
-- line the cursor is on after every byte.
local function screen(tty, check)
  local lines, row, col, i = {""}, 1, 1, 1
  while i <= #tty do
    local c = tty:sub(i, i)
    if tty:sub(i, i + 2) == "\27[K" then
      lines[row] = lines[row]:sub(1, col - 1)
      i = i + 2
    elseif c == "\r" then
      col = 1
    elseif c == "\n" then
      row = row + 1
      lines[row] = lines[row] or ""
    else
      local l = lines[row] .. (" "):rep(col - 1 - #lines[row])
      lines[row] = l:sub(1, col - 1) .. c .. l:sub(col + 1)
      col = col + 1
    end
    check(lines[row])
    i = i + 1
  end
  return lines
end

local PROGRESS = "items/s"

-- Asserts that no line of the screen ever holds the progress line and
-- something else than it; returns the screen's lines but the empty ones.
local function apart(tty)
  local lines = screen(tty, function(line)
    if line:find(PROGRESS, 1, true) then
      -- It is drawn a byte at a time: whole, or the start of it.
      assert(line:match("^luaworkq: %d[^{}]*$") and not line:find("failed.+"),
             "the progress line shares a line: " .. line)
    end
  end)
  local shown = {}
  for _, l in ipairs(lines) do
    if l ~= "" then shown[#shown + 1] = l end
  end
  return shown
end

local function numbers_file(n)
  return testing.write_file(dir .. "/items.txt", support.numbers(n))
end

describe("results on the terminal of the progress line", function()
  it("never share a line with it, and all stay on the screen (json)", function()
    local tty = in_terminal({"-j", "2", numbers_file(40)}, nil)
    assert.truthy(tty:find(PROGRESS, 1, true), "the progress line is drawn")
    local want = {}
    for i = 1, 40 do want[#want + 1] = ('{"i":%d}'):format(i) end
    -- The json list is one line: on the screen it may be broken where
    -- the progress line was drawn below it, never torn or erased.
    assert.equals("[" .. table.concat(want, ",") .. "]", table.concat(apart(tty)))
  end)

  it("never share a line with it, nor do failure reports (ndjson, -k)", function()
    local tty = in_terminal({"-j", "2", "-k", "--set", "fail=13", "-f", "ndjson",
                            numbers_file(40)}, nil)
    assert.truthy(tty:find(PROGRESS, 1, true), "the progress line is drawn")
    local shown = apart(tty)
    local results, reports = {}, 0
    for _, l in ipairs(shown) do
      if l:find("^{") then results[#results + 1] = l end
      if l:find("^luaworkq: item 13 %(.*items.txt:13%) failed: .*thirteen$") then
        reports = reports + 1
      end
    end
    local want = {}
    for i = 1, 40 do
      if i ~= 13 then want[#want + 1] = ('{"i":%d}'):format(i) end
    end
    assert.same(want, results)
    assert.equals(1, reports)
  end)

  it("are not drawn over by a line while the items are typed at the terminal",
    function()
      -- Typed items echo where the cursor is: no progress line is drawn.
      local typed = testing.write_file(dir .. "/typed.txt", "1\n2\n3\n")
      local tty = in_terminal({"-f", "ndjson", "--progress"}, typed)
      assert.is_nil(tty:find(PROGRESS, 1, true), tty)
      assert.truthy(tty:find("luaworkq: reading items from the terminal", 1, true), tty)
    end)
end)
