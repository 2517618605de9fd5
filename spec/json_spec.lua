-- luaworkq.json: the output's JSON rules offered to jobs. encode writes
-- what the output would write; decode keeps integers as integers and names
-- the byte offset of an error.
local testing = require "luaworkq.testing"
local support = require "support"

-- Runs process(item) = body over one item; returns the run.
local function run_job(body)
  return testing.run{job_source = "local json = luaworkq.json\nfunction process(item)\n"
                       .. body .. "\nend\n", items = {"x"}, args = {"-f", "lines"}}
end

describe("luaworkq.json", function()
  -- {what, process's body, the line it returns}
  local cases = {
    {"encode sorts keys and keeps integers exact",
      [[return json.encode({b = 12345678901234567, a = {1, 2.5, "x"}, c = -9007199254740993})]],
      '{"a":[1,2.5,"x"],"b":12345678901234567,"c":-9007199254740993}'},
    {"encode writes floats that read back, integral ones with .0",
      [[return json.encode({1.0, 0.1, 1e300, 1e-7})]], "[1.0,0.1,1e+300,1e-07]"},
    {"encode writes null, marked empty arrays and empty objects",
      [[return json.encode({luaworkq.null, luaworkq.array(), {}})]], "[null,[],{}]"},
    {"encode of a string escapes it and replaces invalid UTF-8",
      [[return json.encode("a\"b\n\255")]], '"a\\"b\\n\239\191\189"'},
    {"decode keeps integers as integers, floats as floats",
      [[local v = json.decode('{"id":7,"big":12345678901234567,"f":7.0}')
        return ("%s %s %s %d"):format(math.type(v.id), math.type(v.f), math.type(v.big), v.big)]],
      "integer float integer 12345678901234567"},
    {"decode gives null as luaworkq.null and arrays marked, so they round-trip",
      [[local s = '{"a":[],"b":null,"c":[1,{"d":[true,false]}],"e":{}}'
        return tostring(json.encode(json.decode(s)) == s)]], "true"},
    {"a value round-trips through encode and decode",
      [[local v = {n = 9007199254740993, s = "\0bytes", list = {1, 2, {x = -0.5}}}
        local back = json.decode(json.encode(v))
        return tostring(back.n == v.n and back.s == v.s and back.list[3].x == -0.5
                        and math.type(back.list[1]) == "integer")]], "true"},
  }
  support.each_returns(cases, run_job)

  -- {what, process's body, the error message}
  local errors = {
    {"decode names the byte offset of an error", [[json.decode('{"a":1,}')]],
      "invalid JSON at byte 7: "},
    {"decode refuses text after the value", [[json.decode('[1] x')]],
      "invalid JSON at byte 4: "},
    {"encode refuses NaN with its key path", [[json.encode({a = {0/0}})]],
      "value.a[1]: cannot encode NaN"},
    {"encode refuses a function", [[json.encode({f = print})]],
      "value.f: cannot transfer a function"},
  }
  for _, case in ipairs(errors) do
    it(case[1], function()
      local r = run_job(case[2])
      assert.are.equal(1, r.code)
      assert.matches("^luaworkq: item 1 %(stdin:1%) failed: [^\n]*:%d+: "
                     .. case[3]:gsub("%p", "%%%0"), r.stderr)
    end)
  end
end)
