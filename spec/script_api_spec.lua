-- The script API: the luaworkq module, require, the hooks' lifetimes, and
-- the --check, --help and --version options.
local testing = require "luaworkq.testing"
local support = require "support"

local function number_items(n)
  local list = {}
  for i = 1, n do list[i] = tostring(i) end
  return list
end

-- The project version, read from CMakeLists.txt rather than from the binary.
local function project_version()
  local root = os.getenv("LUAWORKQ_SRC") or "."
  local cmake = assert(testing.read_file(root .. "/CMakeLists.txt"))
  return assert(cmake:match("project%(luaworkq VERSION (%d+%.%d+%.%d+)"))
end

describe("the luaworkq module", function()
  it("tells each worker its number and the number of workers", function()
    local r = testing.run{job_source = [[
      function process() return {luaworkq.worker, luaworkq.workers} end]],
      items = number_items(3000), args = {"-j", "3"}}
    assert.are.same({0, ""}, {r.code, r.stderr})
    assert.are.equal(3000, #r.output)
    for _, result in ipairs(r.output) do
      assert.is_true(result[1] == 1 or result[1] == 2 or result[1] == 3)
      assert.are.equal(3, result[2])
    end
  end)

  it("tells setup and finish that they run in the host, worker 0", function()
    local r = testing.run{job_source = [[
      function setup() return {luaworkq.worker, luaworkq.workers} end
      function init(shared) SHARED = shared end
      function process() return SHARED end
      function merge(a, b) return a end
      function finish(v) return {setup = v, finish = luaworkq.worker} end]],
      items = {"a", "b"}, args = {"-j", "2"}}
    assert.are.same({0, '{"finish":0,"setup":[0,2]}\n', ""},
                    {r.code, r.stdout, r.stderr})
  end)

  it("is also what require 'luaworkq' returns", function()
    local r = testing.run{job_source = [[
      local lw = require "luaworkq"
      function process() return lw == luaworkq end]], items = {"a"}}
    assert.are.same({0, "[true]\n"}, {r.code, r.stdout})
  end)

  -- {--set options, luaworkq.args as JSON}
  local cases = {
    {{}, "{}"},
    {{"--set", "name=world"}, [[{"name":"world"}]]},
    {{"--set", "n=1"}, [[{"n":"1"}]]},
    {{"--set", "empty="}, [[{"empty":""}]]},
    {{"--set", "eq=a=b"}, [[{"eq":"a=b"}]]},
    {{"--set", "msg=hello world é"}, [[{"msg":"hello world é"}]]},
    {{"--set", "b=2", "--set", "a=1"}, [[{"a":"1","b":"2"}]]},
  }
  for _, case in ipairs(cases) do
    local shown = #case[1] > 0 and table.concat(case[1], " ") or "no --set"
    it("gives " .. shown .. ": luaworkq.args is " .. case[2], function()
      local args = {"-j", "2"}
      table.move(case[1], 1, #case[1], 3, args)
      local r = testing.run{job_source = "function process() return luaworkq.args end",
                            items = {"a", "b"}, args = args}
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.are.equal("[" .. case[2] .. "," .. case[2] .. "]\n", r.stdout)
    end)
  end

  it("has the version of the project as luaworkq.version", function()
    local r = testing.run{job_source = "function process() return luaworkq.version end",
                          items = {"a"}}
    assert.are.same({0, '["' .. project_version() .. '"]\n'}, {r.code, r.stdout})
  end)

  it("luaworkq.log writes whole lines to stderr from 4 workers at once",
    function()
      local r = testing.run{job_source = [[
        local pad = string.rep("x", 200)
        function process(item, index)
          for part = 1, 4 do luaworkq.log(("item %d part %d %s"):format(index, part, pad)) end
          return index
        end]], items = number_items(5000), args = {"-j", "4"}}
      assert.are.equal(0, r.code)
      local expected, got = {}, {}
      for i = 1, 5000 do
        for part = 1, 4 do
          expected[#expected + 1] = ("item %d part %d %s"):format(i, part, string.rep("x", 200))
        end
      end
      for line in r.stderr:gmatch("([^\n]*)\n") do got[#got + 1] = line end
      assert.are.equal("\n", r.stderr:sub(-1))
      table.sort(expected)
      table.sort(got)
      assert.are.same(expected, got)
      assert.are.equal(5000, #r.output)
    end)
end)

describe("require", function()
  local dir
  support.tmpdir_all(function(path) dir = path end)

  it("finds modules beside the job script, not in the working directory",
    function()
      os.execute("mkdir -p " .. testing.quote(dir .. "/pkg"))
      testing.write_file(dir .. "/shout.lua",
        "return {shout = function(s) return s:upper() .. '!' end}")
      testing.write_file(dir .. "/pkg/init.lua", "return {name = 'pkg'}")
      testing.write_file(dir .. "/pkg/sub.lua", "return {name = 'pkg.sub'}")
      local job = testing.write_file(dir .. "/job.lua", [[
        local shout = require "shout"
        local pkg, sub = require "pkg", require "pkg.sub"
        function process(item) return {shout.shout(item), pkg.name, sub.name} end]])
      local r = testing.run{job = job, items = {"hi"}, args = {"-j", "2"}}
      assert.are.same({0, ""}, {r.code, r.stderr})
      assert.are.equal('[["HI!","pkg","pkg.sub"]]\n', r.stdout)
    end)

  it("loads the cjson C module", function()
    local r = testing.run{job_source = [[
      local cjson = require "cjson"
      function process(item) return cjson.decode(item).name .. cjson.encode({1, 2}) end]],
      items = {'{"name":"x"}', '{"name":"y"}'}, args = {"-j", "2"}}
    assert.are.same({0, '["x[1,2]","y[1,2]"]\n', ""}, {r.code, r.stdout, r.stderr})
  end)

  it("cjson.null is luaworkq.null", function()
    local r = testing.run{job_source = [[
      local cjson = require "cjson"
      function process() return {cjson.null == luaworkq.null, cjson.null} end]],
      items = {"a"}}
    assert.are.same({0, "[[true,null]]\n"}, {r.code, r.stdout})
  end)
end)

describe("init and shutdown", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  -- Each worker appends "init" and "shutdown" to a file named by its number.
  local JOB = [[
    local dir, fail = luaworkq.args.dir, tonumber(luaworkq.args.fail)
    local function append(line)
      local f = assert(io.open(dir .. "/worker-" .. luaworkq.worker, "a"))
      f:write(line, "\n")
      f:close()
    end
    function init() append("init") READY = true end
    function process(item, index)
      assert(READY, "init has not run")
      if index == fail then error("failing on purpose") end
    end
    function shutdown() append("shutdown") end
  ]]

  local function check_workers()
    local p = assert(io.popen("ls " .. testing.quote(dir)))
    local names = {}
    for name in p:lines() do names[#names + 1] = name end
    p:close()
    assert.are.same({"worker-1", "worker-2", "worker-3", "worker-4"}, names)
    for _, name in ipairs(names) do
      assert.are.equal("init\nshutdown\n", testing.read_file(dir .. "/" .. name))
    end
  end

  it("run once in each of 4 workers", function()
    local r = testing.run{job_source = JOB, items = number_items(20000),
                          args = {"-j", "4", "--set", "dir=" .. dir}}
    assert.are.same({0, "[]\n", ""}, {r.code, r.stdout, r.stderr})
    check_workers()
  end)

  it("shutdown runs in each worker after a failing item too", function()
    local r = testing.run{job_source = JOB, items = number_items(20000),
                          args = {"-j", "4", "--set", "dir=" .. dir, "--set", "fail=5000"}}
    assert.are.equal(1, r.code)
    check_workers()
  end)
end)

describe("command line", function()
  local GOOD = [[function process(item) error("process must not run") end]]

  it("--check on a good job prints nothing and processes nothing", function()
    local r = testing.run{job_source = GOOD, items = {"a"}, args = {"--check"}}
    assert.are.same({0, "", ""}, {r.code, r.stdout, r.stderr})
  end)

  -- {what is wrong with the job, its source, a pattern of the message}
  local bad = {
    {"has no process", "x = 1", "^luaworkq: [^\n]*process"},
    {"has a process that is not a function", "process = 42", "^luaworkq: [^\n]*process"},
    {"does not compile", "function process(item)\n  return = 1\nend\n",
      "^luaworkq: [^\n]*:2: unexpected symbol near '='"},
  }
  for _, case in ipairs(bad) do
    it("--check on a job that " .. case[1] .. " exits 2 with a message", function()
      local r = testing.run{job_source = case[2], items = {"a"}, args = {"--check"}}
      assert.are.same({2, ""}, {r.code, r.stdout})
      assert.matches(case[3], r.stderr)
    end)
  end

  it("--help and -h print the usage to stdout", function()
    local help = testing.run{args = {"--help"}}
    assert.are.same({0, ""}, {help.code, help.stderr})
    assert.matches("luaworkq", help.stdout)
    for _, option in ipairs{"--jobs", "--null", "--format", "--output", "--set", "--check"} do
      assert.matches((option:gsub("%-", "%%-")), help.stdout)
    end
    local h = testing.run{args = {"-h"}}
    assert.are.same({0, help.stdout, ""}, {h.code, h.stdout, h.stderr})
  end)

  for _, option in ipairs{"--version", "-V"} do
    it(option .. " prints the version", function()
      local r = testing.run{args = {option}}
      assert.are.same({0, "luaworkq " .. project_version() .. " (Lua 5.4)\n", ""},
                      {r.code, r.stdout, r.stderr})
    end)
  end
end)
