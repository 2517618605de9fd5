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
      local r = run{case[2]}
      assert.equals("", r.stderr)
      assert.equals(0, r.code)
      assert.equals(case[3] .. "\n", r.stdout)
    end)
  end

  it("fails a line that is not JSON, naming its line, and goes on with -k", function()
    local r = run({'{"a":1}', '{"a":', '[1,2] x', '2'}, {"-k"})
    assert.equals(1, r.code)
    assert.matches("luaworkq: item 2 %(stdin:2%) failed: item is not JSON: at byte %d+", r.stderr)
    assert.matches("luaworkq: item 3 %(stdin:3%) failed: item is not JSON: at byte %d+", r.stderr)
    assert.equals(2, #r.output)
  end)

  it("fails an empty line: it is not JSON", function()
    local r = run({'1', '', '3'}, {"-k"})
    assert.equals(1, r.code)
    assert.matches("item 2 %(stdin:2%) failed: item is not JSON", r.stderr)
  end)

  it("gives the same output whatever -j", function()
    local lines = {}
    for i = 1, 3000 do lines[i] = ('{"id":%d,"tags":["t%d"],"x":%d.5}'):format(i, i % 7, i) end
    local one = run(lines, {"-j", "1"})
    local four = run(lines, {"-j", "4"})
    assert.equals(0, one.code)
    assert.equals(3000, #one.output)
    assert.equals(one.stdout, four.stdout)
  end)
end)
