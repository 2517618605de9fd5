-- What the specs share besides luaworkq.testing: reading output, making
-- inputs, running shell commands, and Lua source that jobs include.
local testing = require "luaworkq.testing"

local M = {}

function M.first_line(s) return s:match("^[^\n]*") end
function M.last_line(s) return s:match("([^\n]*)\n?$") end

-- The lines of s, each ended by "\n" (a last line without one is left out).
function M.lines_of(s)
  local t = {}
  for line in s:gmatch("([^\n]*)\n") do t[#t + 1] = line end
  return t
end

-- The text "1\n2\n...n\n".
function M.numbers(n)
  local t = {}
  for i = 1, n do t[i] = i .. "\n" end
  return table.concat(t)
end

-- The names in a folder, hidden ones too, sorted.
function M.listdir(dir)
  local p = assert(io.popen("ls -A " .. testing.quote(dir)))
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  table.sort(names)
  return names
end

-- Runs python3 with a program and arguments; returns its stdout.
function M.python(program, ...)
  local words = {"python3", "-c", testing.quote(program)}
  for _, a in ipairs({...}) do words[#words + 1] = testing.quote(a) end
  local p = assert(io.popen(table.concat(words, " ")))
  local out = p:read("a")
  assert(p:close(), "python3 failed")
  return out
end

-- Runs a shell command; returns its exit code (128 + N for signal N) and
-- what it wrote on stdout.
function M.sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, how, n = p:close()
  return how == "exit" and n or 128 + n, out
end

-- Runs luaworkq in dir (so that relative names are the user's) with the
-- words of args, standard input empty, under umask 022 (so that the modes
-- of new files are known); returns code and stderr.
function M.run_in(dir, args)
  local words = {testing.quote(os.getenv("LUAWORKQ") or "luaworkq")}
  for _, a in ipairs(args) do words[#words + 1] = testing.quote(a) end
  local cmd = "cd " .. testing.quote(dir) .. " && umask 022 && " .. table.concat(words, " ")
    .. " </dev/null >" .. testing.quote(dir .. "/.stdout") .. " 2>"
    .. testing.quote(dir .. "/.stderr")
  local code = M.sh(cmd)
  local stderr = testing.read_file(dir .. "/.stderr")
  os.remove(dir .. "/.stdout")
  os.remove(dir .. "/.stderr")
  return code, stderr
end

-- Asserts that lua5.4, with LUA_PATH set to SHARE's lua/5.4 tree and no
-- LUA_PATH_5_4, loads luaworkq.testing (which has run and load) from that
-- tree.
function M.finds_testing_module_in(share)
  local tree = share .. "/lua/5.4"
  local code, found = M.sh(("env -u LUA_PATH_5_4 LUA_PATH=%s lua5.4 -e %s"):format(
    testing.quote(tree .. "/?.lua;;"),
    testing.quote('local t = require "luaworkq.testing"; assert(t.run and t.load); \z
                   io.write(package.searchpath("luaworkq.testing", package.path))')))
  require("busted").assert.are.same({0, tree .. "/luaworkq/testing.lua"}, {code, found})
end

-- Asserts that the luaworkq at bin runs a job on two workers: the lengths
-- of three items, summed by merge.
function M.runs_a_job(bin)
  local r = testing.run{bin = bin, items = {"a", "bb", "ccc"}, args = {"-j", "2"},
    job_source = [[
      function process(s) return #s end
      function merge(a, b) return a + b end]]}
  require("busted").assert.are.same({0, "6\n", ""}, {r.code, r.stdout, r.stderr})
end

-- The first line a shell command prints.
function M.output_of(cmd)
  local p = assert(io.popen(cmd))
  local line = p:read("l")
  p:close()
  return line
end

function M.is_root() return M.output_of("id -u") == "0" end

-- path made absolute against the current folder.
function M.absolute(path)
  return path:sub(1, 1) == "/" and path or os.getenv("PWD") .. "/" .. path
end

-- For specs that need root and programs: says in one line why the spec
-- cannot run here and exits 77, which CTest counts as skipped. why_root
-- names what root is needed for (nil: it is not); programs are looked up
-- on PATH (absolute paths are checked as they are).
function M.skip_unless(spec, why_root, programs)
  local why
  if why_root and not M.is_root() then
    why = "not root (" .. why_root .. ")"
  else
    for _, prog in ipairs(programs) do
      if M.sh("command -v " .. testing.quote(prog) .. " >/dev/null 2>&1") ~= 0 then
        why = prog .. " is not installed (scripts/install-deps --test installs it)"
        break
      end
    end
  end
  if why then
    io.stderr:write(spec .. ": skipped: " .. why .. "\n")
    os.exit(77)
  end
end

-- Gives each test of the enclosing describe block a new temporary folder,
-- removed after the test: set(path) is called with it before the test.
function M.tmpdir_each(set)
  local busted, path = require "busted", nil
  busted.before_each(function() path = testing.tmpdir(); set(path) end)
  busted.after_each(function() testing.remove_tree(path) end)
end

-- Gives the tests of the enclosing describe block (or of the file, called
-- outside one) one temporary folder, set(path) before the first of them,
-- removed after the last.
function M.tmpdir_all(set)
  local busted, path = require "busted", nil
  busted.setup(function() path = testing.tmpdir(); set(path) end)
  busted.teardown(function() testing.remove_tree(path) end)
end

-- Adds one test per case {what, process's body, its one result}: run(body)
-- must exit 0 with the result and a newline alone on stdout and nothing on
-- stderr.
function M.each_returns(cases, run)
  local busted = require "busted"
  for _, case in ipairs(cases) do
    busted.it(case[1], function()
      local r = run(case[2])
      busted.assert.are.same({0, case[3] .. "\n", ""}, {r.code, r.stdout, r.stderr})
    end)
  end
end

-- The repository's root: where CTest runs the specs.
-- Writes n lines of 0 to 4 words to path, drawn from words by a fixed
-- linear congruential generator started at seed; with vary, each word gets
-- a number below vary after it (more distinct words). Returns the count of
-- each word written, counted here.
function M.word_corpus(path, n, words, seed, vary)
  local f = assert(io.open(path, "wb"))
  local counts, chunk = {}, {}
  local function next_int(m)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return (seed >> 16) % m
  end
  for i = 1, n do
    local line = {}
    for j = 1, next_int(5) do
      local w = words[next_int(#words) + 1]
      if vary then w = w .. next_int(vary) end
      line[j] = w
      counts[w] = (counts[w] or 0) + 1
    end
    chunk[#chunk + 1] = table.concat(line, " ")
    if #chunk == 10000 or i == n then
      f:write(table.concat(chunk, "\n"), "\n")
      chunk = {}
    end
  end
  f:close()
  return counts
end

M.SRC = os.getenv("LUAWORKQ_SRC") or M.output_of("pwd")

-- Lua source for jobs: spin_once() loops for ever the first time it is
-- called in a run (a marker in luaworkq.args.dir remembers it), so that a
-- timeout ends it, and returns at once every later time (a retry).
M.SPIN_ONCE = [[
local function spin_once()
  local marker = luaworkq.args.dir .. "/spun"
  local f = io.open(marker)
  if not f then
    assert(io.open(marker, "w")):close()
    while true do end
  end
  f:close()
end
]]

-- Bodies of process that spin in Lua for ever, each in a way that an
-- interrupt must still reach: {what it is, the body}.
M.ENDLESS = {
  pcall = {"a loop that catches every error with pcall",
    "while true do pcall(function() while true do end end) end"},
  tail_calls = {"endless tail calls", "local function f(n) return f(n + 1) end return f(1)"},
  sort = {"a loop inside a table.sort comparator", [[
      local t = {} for i = 1, 1000 do t[i] = i end
      while true do table.sort(t, function(a, b) return a > b end) end]]},
  c_calls = {"a loop of calls to C functions", [[
      while true do local s = ("x"):rep(100):gsub("x", "y") end]]},
  coroutine = {"a loop inside a coroutine",
    "coroutine.wrap(function() while true do end end)()"},
}

-- Lua source for jobs: busy(s) keeps the CPU busy for about s seconds of
-- the process's CPU time (os.clock counts every thread).
M.BUSY = [[
local function busy(s)
  local t = os.clock() + s
  while os.clock() < t do end
end
]]

-- A job that counts the words of each line and merges the counts into one
-- object.
M.WORD_COUNT = [[
function process(line)
  local counts = {}
  for word in line:gmatch("%S+") do counts[word] = (counts[word] or 0) + 1 end
  return counts
end

function merge(a, b)
  for word, n in pairs(b) do a[word] = (a[word] or 0) + n end
  return a
end
]]

return M
