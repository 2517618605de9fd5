-- --ndjson-in: each line is a JSON value, decoded in the worker into the Lua
-- value that process gets.
local testing = require "luaworkq.testing"

-- Echoes what process received: its Lua type and the value itself.
local ECHO = [[
function process(v, i)
  return {type = type(v), value = v, null = v == luaworkq.null,
          int = math.type(v) == "integer"}
end]]

local function run(lines, args)
  local all = {"--ndjson-in", "-f", "ndjson"}
  for _, a in ipairs(args or {}) do all[#all + 1] = a end
  return testing.run{job_source = ECHO, input = table.concat(lines, "\n") .. "\n",
                     args = all}
end

-- Asserts that a run succeeded quietly and wrote stdout.
local function writes(r, stdout)
  assert.equals("", r.stderr)
  assert.equals(0, r.code)
  assert.equals(stdout, r.stdout)
end

describe("--ndjson-in", function()
  local cases = {
    {"an object, keys sorted on the way out", '{"b":1,"a":"x"}',
     '{"int":false,"null":false,"type":"table","value":{"a":"x","b":1}}'},
    {"an array, nested", '[1,[2,3],{"k":[]}]',
     '{"int":false,"null":false,"type":"table","value":[1,[2,3],{"k":[]}]}'},
    {"an empty array stays an array", '[]',
     '{"int":false,"null":false,"type":"table","value":[]}'},
    {"null is luaworkq.null", 'null',
     '{"int":false,"null":true,"type":"userdata","value":null}'},
    {"an integer stays an integer, all 64 bits", '9007199254740993',
     '{"int":true,"null":false,"type":"number","value":9007199254740993}'},
    {"a float stays a float", '2.5e3',
     '{"int":false,"null":false,"type":"number","value":2500.0}'},
    {"a string with escapes and a surrogate pair", '"a\\n\\u00e9\\ud83d\\ude00"',
     '{"int":false,"null":false,"type":"string","value":"a\\né😀"}'},
    {"booleans", 'true', '{"int":false,"null":false,"type":"boolean","value":true}'},
  }
  for _, case in ipairs(cases) do
    it("decodes " .. case[1], function()
      writes(run{case[2]}, case[3] .. "\n")
    end)
  end

  it("fails a line that is not JSON, naming its line, and goes on with -k", function()
    local r = run({'{"a":1}', '{"a":', '[1,2] x', '2'}, {"-k"})
    assert.equals(1, r.code)
    assert.matches("luaworkq: item 2 %(stdin:2%) failed: item is not JSON: at byte %d+", r.stderr)
    assert.matches("luaworkq: item 3 %(stdin:3%) failed: item is not JSON: at byte %d+", r.stderr)
    assert.equals(2, #r.output)
  end)

  -- Blank lines are no items: indexes run on, lines keep counting.
  local WHERE = [[
function process(v, i)
  local name, line = luaworkq.where()
  if type(v) == "table" then v = "[" .. table.concat(v, ",") .. "]" end
  return ("%d %s:%d %s"):format(i, name, line, v)
end]]
  local skips = {
    {"skips empty and blank lines", "1\n\n \t\r\n3\n\n",
     "1 stdin:1 1\n2 stdin:4 3\n"},
    {"skips a UTF-8 BOM at the start of the input", "\239\187\191[1]\n2\n",
     "1 stdin:1 [1]\n2 stdin:2 2\n"},
    {"skips a BOM on a line of its own", "\239\187\191\n2\n", "1 stdin:2 2\n"},
  }
  for _, case in ipairs(skips) do
    it(case[1], function()
      writes(testing.run{job_source = WHERE, input = case[2],
                         args = {"--ndjson-in", "-f", "lines"}}, case[3])
    end)
  end

  it("skips a BOM at the start of each file, not elsewhere", function()
    local dir = testing.tmpdir()
    local a = testing.write_file(dir .. "/a", "\239\187\1911\n")
    local b = testing.write_file(dir .. "/b", "\239\187\1912\n\239\187\1913\n")
    local r = testing.run{job_source = WHERE, files = {a, b},
                          args = {"--ndjson-in", "-f", "lines", "-k"}}
    testing.remove_tree(dir)
    assert.equals(1, r.code)
    assert.equals("1 " .. a .. ":1 1\n2 " .. b .. ":1 2\n", r.stdout)
    assert.matches("item 3 %(" .. b:gsub("%p", "%%%0") .. ":2%) failed: item is not JSON",
                   r.stderr)
  end)

  it("gives each line's value, in input order, whatever -j", function()
    local lines = {}
    for i = 1, 3000 do lines[i] = ('{"id":%d,"tags":["t%d"],"x":%d.5}'):format(i, i % 7, i) end
    local expected = {}
    for i = 1, 3000 do
      expected[i] = ('{"int":false,"null":false,"type":"table","value":{"id":%d,"tags":["t%d"],\z
                     "x":%d.5}}\n'):format(i, i % 7, i)
    end
    expected = table.concat(expected)
    for _, j in ipairs{"1", "4"} do
      local r = run(lines, {"-j", j})
      assert.are.same({0, expected}, {r.code, r.stdout})
    end
  end)
end)
