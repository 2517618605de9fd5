-- luaworkq.testing: what a user's own spec does with it.
local testing = require "luaworkq.testing"
local support = require "support"

local root = os.getenv("LUAWORKQ_SRC") or "."
local WORDCOUNT = root .. "/spec/fixtures/wordcount.lua"

describe("testing.load", function()
  local dir
  support.tmpdir_all(function(path) dir = path end)

  local function job_file(source)
    return testing.write_file(dir .. "/job.lua", source)
  end

  it("gives the job's hooks as fields, with require finding modules beside it",
    function()
      local job = testing.load(WORDCOUNT)
      job.init(job.setup())
      assert.are.same({cat = 1, hat = 2}, job.process("the hat the cat hat", 1))
      assert.is_nil(job.process("the", 2))
      assert.are.same({a = 3, b = 1}, job.merge({a = 1}, {a = 2, b = 1}))
    end)

  it("runs setup, init, process, merge and finish over a list with run",
    function()
      local job = testing.load(WORDCOUNT, {args = {min = "2"}, quiet = true})
      assert.are.same({hat = 2, mat = 3},
                      job.run{"the cat", "a hat", "the hat mat", "", "mat mat"})
      assert.are.same({"worker 0 finished"}, job.logs)
    end)

  it("returns the non-nil results in order when the job has no merge",
    function()
      local job = testing.load(job_file[[
        function process(item, index)
          if item ~= "" then return {index, item, luaworkq.worker, luaworkq.workers} end
        end]], {worker = 2, workers = 3})
      assert.are.same({{1, "a", 2, 3}, {3, "c", 2, 3}}, job.run{"a", "", "c"})
      assert.are.same({}, job.run{})
    end)

  it("gives luaworkq.args, log, null and array like the binary", function()
    local job = testing.load(job_file[[
      function process(item)
        luaworkq.log("got", item, 1)
        return {luaworkq.args.name, luaworkq.null, luaworkq.array({})}
      end]], {args = {name = "x"}, quiet = true})
    local result = job.process("a", 1)
    assert.are.equal("x", result[1])
    assert.are.equal(testing.null, result[2])
    assert.are.equal(testing.array_mt, getmetatable(result[3]))
    assert.are.same({"got\ta\t1"}, job.logs)
    assert.are.equal(require("cjson").null, testing.null)
  end)

  it("keeps each job's globals to itself", function()
    local path = job_file("COUNT = (COUNT or 0) + 1\nfunction process() return COUNT end")
    assert.are.equal(1, testing.load(path).process())
    assert.are.equal(1, testing.load(path).process())
    assert.is_nil(rawget(_G, "COUNT"))
  end)

  it("fails in run on a result that cannot cross to the host, as the binary does",
    function()
      local job = testing.load(job_file[[
        function process(item) return {a = {b = print}} end]])
      assert.has_error(function() job.run{"x"} end,
                       "item 1 failed: result.a.b: cannot transfer a function")
    end)

  it("runs shutdown after a failing item", function()
    local job = testing.load(job_file[[
      function process(item) error("bad " .. item, 0) end
      function shutdown() DOWN = true end]])
    assert.has_error(function() job.run{"x"} end, "item 1 failed: bad x")
    assert.is_true(job.DOWN)
  end)
end)

describe("testing.run and testing.spawn", function()
  it("run returns the exit code, stdout, stderr and the decoded output",
    function()
      local r = testing.run{job_source = [[
        function process(item) luaworkq.log("it's " .. item) return {item} end]],
        items = {"a b", "it's"}, args = {"-j", "1"}}
      assert.are.same({code = 0, stdout = '[["a b"],["it\'s"]]\n',
                       stderr = "it's a b\nit's it's\n", output = {{"a b"}, {"it's"}}}, r)
    end)

  it("spawn starts a run in the background; wait returns what run returns",
    function()
      local dir = testing.tmpdir()
      local proc = testing.spawn{job_source = [[
        local dir = luaworkq.args.dir
        function process(item)
          assert(io.open(dir .. "/started", "w")):close()
          local deadline = os.time() + 30
          while not io.open(dir .. "/go") and os.time() < deadline do end
          return item
        end]], items = {"a"}, args = {"-j", "1", "--set", "dir=" .. dir}}
      local started = testing.wait_for(dir .. "/started", 30)
      testing.write_file(dir .. "/go", "")
      local r = proc.wait(30)
      testing.remove_tree(dir)
      assert.is_true(started)
      assert.are.same({0, '["a"]\n', ""}, {r.code, r.stdout, r.stderr})
    end)

  it("spawn's kill sends a signal; the exit code tells it", function()
    local dir = testing.tmpdir()
    local proc = testing.spawn{job_source = [[
      function init() assert(io.open(luaworkq.args.dir .. "/ready", "w")):close() end
      function process() while true do end end]],
      items = {"a"}, args = {"-j", "1", "--set", "dir=" .. dir}}
    local ready = testing.wait_for(dir .. "/ready", 30)
    proc.kill("TERM")
    local ok, r = pcall(proc.wait, 30)
    testing.remove_tree(dir)
    assert.is_true(ready)
    assert(ok, r)
    assert.are.equal(143, r.code)
  end)
end)
