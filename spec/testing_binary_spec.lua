-- luaworkq.testing right after the Quick start: it finds the binary
-- without LUAWORKQ or an install (on the PATH, in the repository's build/,
-- or the binary it runs in), says so clearly when there is none, lets a
-- spec name the input (testing.run{name = ...}, testing.load(path,
-- {name = ...})), and gives where() to job.process called directly. The
-- repository's .busted makes `busted spec/...` find the module.
local testing = require "luaworkq.testing"
local support = require "support"

local bin = assert(os.getenv("LUAWORKQ"), "LUAWORKQ is not set")
local SRC = support.SRC
local q = testing.quote

local dir
support.tmpdir_each(function(path) dir = path end)

-- A folder of tools holding only what testing.run needs besides /bin/sh,
-- so that no luaworkq is on the PATH.
local function tools()
  local t = dir .. "/tools"
  assert(os.execute("mkdir -p " .. q(t)))
  for _, name in ipairs{"lua5.4", "lua", "busted", "mktemp", "rm"} do
    local _, path = support.sh("command -v " .. name)
    path = path:match("[^\n]+")
    if path then assert(os.execute(("ln -s %s %s"):format(q(path), q(t .. "/" .. name)))) end
  end
  return t
end

-- A copy of the repository's layout under dir/repo: the testing module,
-- .busted, and build/luaworkq (the binary under test) when with_binary.
local function repository(with_binary)
  local root = dir .. "/repo"
  for _, sub in ipairs{"lua/luaworkq", "spec", "scripts/examples", "build"} do
    assert(os.execute("mkdir -p " .. q(root .. "/" .. sub)))
  end
  for _, f in ipairs{"lua/luaworkq/testing.lua", ".busted", "spec/user_spec_example_spec.lua",
                     "scripts/examples/wordcount.lua"} do
    testing.write_file(root .. "/" .. f, assert(testing.read_file(SRC .. "/" .. f)))
  end
  if with_binary then
    assert(os.execute(("ln -s %s %s"):format(q(support.absolute(bin)), q(root .. "/build/luaworkq"))))
  end
  return root
end

-- Runs cmd in folder with the PATH of tools() and no LUAWORKQ or LUA_PATH.
local function bare(folder, cmd)
  return support.sh(("cd %s && env -u LUAWORKQ -u LUA_PATH -u LUA_PATH_5_4 PATH=%s %s 2>&1")
    :format(q(folder), q(tools()), cmd))
end

-- A job that runs `body` with the testing module preloaded in the binary
-- and returns what it returns, as one line.
local function inside(body, env, unset)
  local job = testing.write_file(dir .. "/outer.lua",
    "local testing = require 'luaworkq.testing'\nfunction process()\n" .. body .. "\nend\n")
  local words = {}
  for k, v in pairs(env or {}) do words[#words + 1] = k .. "=" .. q(v) end
  local one = testing.write_file(dir .. "/one.txt", "x\n")
  local code, out = support.sh(("cd %s && env %s %s %s -f lines %s %s 2>&1 </dev/null"):format(
    q(dir), unset or "", table.concat(words, " "), q(support.absolute(bin)), q(job), q(one)))
  return code, out
end

local WHERE = "function process(s, i) local n, l = luaworkq.where() return n .. ':' .. l .. ' ' .. s end"

describe("luaworkq.testing in the binary", function()
  it("gives where() to job.process called directly: the name and the index given", function()
    testing.write_file(dir .. "/inner.lua", "function process(s, i) return {luaworkq.where()} end")
    local code, out = inside([[
      local job = testing.load("inner.lua", {name = "in.txt"})
      local plain = testing.load("inner.lua")
      local a, b = job.process("q", 5), plain.process("q", 2)
      return table.concat({a[1], a[2], b[1], b[2], select("#", job.luaworkq.where())}, " ")]])
    assert.are.same({0, "in.txt 5 items 2 0\n"}, {code, out})
  end)

  it("runs the input under the name a spec gives", function()
    testing.write_file(dir .. "/inner.lua", WHERE)
    local code, out = inside([[
      local r = testing.run{job = "inner.lua", items = {"a", "b"}, name = "x.txt",
                            args = {"-f", "lines"}}
      return (r.code .. " " .. r.stdout .. r.stderr):gsub("\n", "|")]])
    assert.are.same({0, "0 x.txt:1 a|x.txt:2 b|\n"}, {code, out})
  end)

  it("runs the binary it is in when LUAWORKQ is unset and luaworkq is not on the PATH",
     function()
    testing.write_file(dir .. "/inner.lua", WHERE)
    local code, out = inside([[
      local r = testing.run{job = "inner.lua", items = {"a"}, args = {"-f", "lines"}}
      return (r.code .. " " .. r.stdout .. r.stderr):gsub("\n", "|")]],
      {PATH = tools()}, "-u LUAWORKQ")
    assert.are.same({0, "0 stdin:1 a|\n"}, {code, out})
  end)
end)

describe("luaworkq.testing from a clone, without installing", function()
  local RUN = [[lua5.4 -e 'package.path = "lua/?.lua;" .. package.path
    local testing = require "luaworkq.testing"
    local r = testing.run{job_source = "function process(s) return #s end", items = {"abc"}}
    io.write(r.code, " ", r.stdout)']]

  it("finds the build's binary beside its lua/ folder", function()
    local code, out = bare(repository(true), RUN)
    assert.are.same({0, "0 [3]\n"}, {code, out})
  end)

  it("says clearly when there is no binary", function()
    local root = repository(false)
    local code, out = bare(root, RUN)
    assert.are.equal(1, code)
    assert.matches("luaworkq.testing: no luaworkq binary to run: LUAWORKQ is not set, "
      .. "luaworkq is not on the PATH and there is no %./build/luaworkq; "
      .. "build it %(scripts/quickstart%), set LUAWORKQ to its path or install it", out)
  end)

  it("runs the README's spec with busted from the repository's root", function()
    local code, out = bare(repository(true), "busted spec/user_spec_example_spec.lua")
    assert.are.equal(0, code, out)
    assert.matches("3 successes / 0 failures / 0 errors", out)
  end)
end)
