-- A job's standard streams: stdout carries results only. print, io.write
-- and io.stdout in any hook write whole lines to stderr; io.read and
-- io.stdin never take the items' input.
local testing = require "luaworkq.testing"
local numbers = require("support").numbers

describe("in a job, stdout is for results only:", function()
  -- {hook, the job: each hook writes "<hook> says hi" its own way}
  local hooks = {
    {"the job's top", 'print("top says hi")\nfunction process(item) return item end'},
    {"setup", 'function setup() io.write("setup says hi\\n") end\n'
              .. "function process(item) return item end"},
    {"init", 'function init() io.stdout:write("init says hi\\n") end\n'
             .. "function process(item) return item end"},
    {"process", 'function process(item) print("process says", "hi") return item end'},
    {"merge", "function process(item) return 1 end\n"
              .. 'function merge(a, b) print("merge says hi") return a + b end'},
    {"finish", "function process(item) return 1 end\n"
               .. "function merge(a, b) return a + b end\n"
               .. 'function finish(v) io.write("finish says hi\\n") return v end'},
    {"shutdown", 'function shutdown() print("shutdown says hi") end\n'
                 .. "function process(item) return item end"},
  }
  for _, case in ipairs(hooks) do
    it("what " .. case[1] .. " prints goes to stderr as whole lines", function()
      local r = testing.run{job_source = case[2], items = {"a", "b"}, args = {"-j", "1"}}
      assert.are.equal(0, r.code)
      local merged = case[1] == "merge" or case[1] == "finish"
      assert.are.equal(merged and "2\n" or '["a","b"]\n', r.stdout)
      local says = case[1] == "process" and "process says\thi" or case[1]:match("%w+$")
        .. " says hi"
      assert.matches("^" .. says .. "\n", r.stderr)
      for line in r.stderr:gmatch("[^\n]+") do assert.are.equal(says, line) end
    end)
  end

  it("a line written in parts is one line; a part left at the end of an item is one too",
    function()
      local r = testing.run{job_source = [[
        function process(item)
          io.write("one", " ", "line")
          io.stdout:write(" for ", item, "\n", "rest of ", item)
          return item
        end]], items = {"a", "b"}, args = {"-j", "1"}}
      assert.are.same({0, '["a","b"]\n',
                       "one line for a\nrest of a\none line for b\nrest of b\n"},
                      {r.code, r.stdout, r.stderr})
    end)

  it("lines of eight workers are never torn, and the JSON on stdout stays valid", function()
    local r = testing.run{job_source = [[
      function process(item, index)
        for i = 1, 5 do
          io.write("<", index, ":")
          io.write(string.rep("x", index % 300), ">\n")
        end
        print("<" .. index .. ":" .. string.rep("y", index % 100) .. ">")
        return index
      end]], input = numbers(4000), args = {"-j", "8"}}
    assert.are.equal(0, r.code)
    local n = 0
    for line in r.stderr:gmatch("[^\n]*\n") do
      n = n + 1
      local index, body = line:match("^<(%d+):(%a*)>\n$")
      assert.is_truthy(index, "a torn line: " .. line)
      assert.is_truthy(#body == tonumber(index) % 300 or #body == tonumber(index) % 100,
                       "a torn line: " .. line)
    end
    assert.are.equal(4000 * 6, n)
    assert.are.equal(4000, #r.output)
  end)

  it("io.stdout cannot be closed, as the standard one", function()
    local r = testing.run{job_source = [[
      function process(item) return {io.stdout:close()} end]],
      items = {"a"}, args = {"-f", "ndjson"}}
    assert.are.same({0, '{"2":"cannot close standard file"}\n'}, {r.code, r.stdout})
  end)
end)

describe("in a job, the items' input is not there to read:", function()
  -- {what the job does, process's body, items}: a program per item costs
  -- more, so those run over fewer items.
  local reads = {
    {"io.read('l')", 'return io.read("l") == nil and item or "read " .. io.read("l")', 20000},
    {"io.stdin:read('a')", 'return io.stdin:read("a") == "" and item or "read"', 20000},
    {"io.lines()", 'for l in io.lines() do return "read " .. l end return item', 20000},
    {"luaworkq.exec({'cat'})",
      'return select(2, luaworkq.exec({"cat"})) == "" and item or "read"', 200},
    {"os.execute('cat')", 'os.execute("cat") return item', 200},
    {"io.popen('cat')", 'return io.popen("cat"):read("a") == "" and item or "read"', 200},
  }
  for _, case in ipairs(reads) do
    it(("%s over %d items from stdin loses none of them"):format(case[1], case[3]), function()
      local r = testing.run{job_source = "function process(item)\n" .. case[2] .. "\nend\n",
                            input = numbers(case[3]), args = {"-f", "lines", "-j", "2"}}
      assert.are.same({0, numbers(case[3]), ""}, {r.code, r.stdout, r.stderr})
    end)
  end
end)
