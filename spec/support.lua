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

-- Where lua5.4 finds luaworkq.testing, with LUA_PATH set to SHARE's
-- lua/5.4 tree and no LUA_PATH_5_4: returns the exit code, the path it
-- found (the module loaded and has run and load), and the path expected.
function M.testing_module_in(share)
  local tree = share .. "/lua/5.4"
  local code, found = M.sh(("env -u LUA_PATH_5_4 LUA_PATH=%s lua5.4 -e %s"):format(
    testing.quote(tree .. "/?.lua;;"),
    testing.quote('local t = require "luaworkq.testing"; assert(t.run and t.load); \z
                   io.write(package.searchpath("luaworkq.testing", package.path))')))
  return code, found, tree .. "/luaworkq/testing.lua"
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

-- The repository's root: where CTest runs the specs.
M.SRC = os.getenv("LUAWORKQ_SRC") or M.output_of("pwd")

-- Lua source for jobs: busy(s) keeps the CPU busy for about s seconds of
-- the process's CPU time (os.clock counts every thread).
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

M.BUSY = [[
local function busy(s)
  local t = os.clock() + s
  while os.clock() < t do end
end
]]

return M
