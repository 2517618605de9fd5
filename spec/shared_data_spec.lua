-- Shared data: setup's value held once for the run, read through
-- luaworkq.shared and init's argument, read-only; luaworkq.copy.
local testing = require "luaworkq.testing"
local support = require "support"

-- The reference data of every case: nested tables, arrays (one with a
-- hole, one empty and marked), keys of every kind.
local SETUP = [[
function setup()
  return {
    name = "ref", n = 3, pi = 1.5, yes = true, none = luaworkq.null,
    k = {10, 20, {x = "y"}},
    holes = {1, 2, nil, 4},
    users = {alice = {age = 31, tags = {"a", "b"}}, bob = {age = 27, tags = luaworkq.array()}},
    [7] = "seven", [2.5] = "half", [true] = "yes",
    ["a b"] = {["c.d"] = {1}},
  }
end
]]

local SETUP_JSON = '{"2.5":"half","7":"seven","a b":{"c.d":[1]},"holes":{"1":1,"2":2,"4":4},'
  .. '"k":[10,20,{"x":"y"}],"n":3,"name":"ref","none":null,"pi":1.5,'
  .. '"true":"yes","users":{"alice":{"age":31,"tags":["a","b"]},"bob":{"age":27,"tags":[]}},'
  .. '"yes":true}'

local function run(job, items, args)
  local a = {"-f", "ndjson"}
  for _, x in ipairs(args or {}) do a[#a + 1] = x end
  return testing.run{job_source = SETUP .. job, items = items or {"a"}, args = a}
end

-- The failure block's first line: its message, after the job's file name.
local function failure(stderr)
  return stderr:match("job%.lua:(%d+: [^\n]*)")
end

describe("shared data", function()
  it("reads as a table in process through luaworkq.shared: index, #, nested parts", function()
    local r = run([[
      function process()
        local s = luaworkq.shared
        return {s.name, s.n, s.pi, s.yes, s.none == luaworkq.null, s.k[2], s.k[3].x,
                #s.k, #s.users.alice.tags, s.users.bob.age, s[7], s[2.5], s[true],
                s["a b"]["c.d"][1], s.missing == nil, s.k[4] == nil, s[{}] == nil,
                type(s.k[1]), s.k[2.0], #s.users.bob.tags}
      end]])
    assert.are.same({0, '["ref",3,1.5,true,true,20,"y",3,2,27,"seven","half","yes",'
                        .. '1,true,true,true,"number",20,0]\n', ""},
                    {r.code, r.stdout, r.stderr})
  end)

  it("iterates with pairs and ipairs as the table it was", function()
    local r = run([[
      function process()
        local s = luaworkq.shared
        local keys = {}
        for k, v in pairs(s) do keys[#keys + 1] = tostring(k) end
        table.sort(keys)
        local list, idx = {}, {}
        for i, v in ipairs(s.k) do list[i] = type(v) == "number" and v or v.x end
        for k, v in pairs(s.holes) do idx[#idx + 1] = k .. "=" .. v end
        table.sort(idx)
        local upto = {}
        for i, v in ipairs(s.holes) do upto[i] = v end
        return {table.concat(keys, ","), list, table.concat(idx, ","), upto,
                table.concat(s.users.alice.tags, "+")}
      end]])
    assert.are.same({0, '["2.5,7,a b,holes,k,n,name,none,pi,true,users,yes",[10,20,"y"],'
                        .. '"1=1,2=2,4=4",[1,2],"a+b"]\n', ""},
                    {r.code, r.stdout, r.stderr})
  end)

  it("has a pairs iterator that refuses what is not a view", function()
    local r = run([[
      function process()
        local iter = pairs(luaworkq.shared)
        return {select(2, pcall(iter, {}, nil)), select(2, pcall(iter, nil, nil))}
      end]])
    assert.are.same({0, '["bad argument #1 to \'?\' (shared table expected, got table)",'
                        .. '"bad argument #1 to \'?\' (shared table expected, got nil)"]\n', ""},
                    {r.code, r.stdout, r.stderr})
  end)

  it("is the same value in init, process, merge and finish, on every worker", function()
    local r = run([[
      local S
      function init(shared) S = shared end
      function process()
        local s = luaworkq.shared
        return {same = S == s and S.k == s.k and s.users.alice == s.users.alice
                       and rawequal(s.k, s.k) and S.k ~= S.users and s.k[3] == S.k[3],
                age = s.users.alice.age}
      end
      function merge(a, b)
        return {same = a.same and b.same and luaworkq.shared.n == 3, age = a.age + b.age}
      end
      function finish(v) v.name = luaworkq.shared.name; return v end]],
      support.lines_of(support.numbers(200)), {"-j", "3"})
    assert.are.same({0, '{"age":6200,"name":"ref","same":true}\n', ""},
                    {r.code, r.stdout, r.stderr})
  end)

  it("is a string, number or nil as setup returned it", function()
    local cases = {{'"text"', '"text"'}, {"42", "42"}, {"nil", "null"}}
    for _, c in ipairs(cases) do
      local r = testing.run{job_source = "function setup() return " .. c[1] .. " end\n" .. [[
        function process() return {luaworkq.shared == nil and luaworkq.null or luaworkq.shared} end]],
        items = {"a"}, args = {"-f", "ndjson"}}
      assert.are.same({0, "[" .. c[2] .. "]\n", ""}, {r.code, r.stdout, r.stderr})
    end
  end)

  it("holds a value nested 200 levels deep, and refuses with its key path what cannot cross",
    function()
      local deep = "local t = 1 for i = 1, %d do t = {t} end return t"
      local held = testing.run{job_source = "function setup() " .. deep:format(200) .. " end\n" .. [[
        function process()
          local s, n = luaworkq.shared, 0
          while type(s) ~= "number" do s, n = s[1], n + 1 end
          return n
        end]], items = {"a"}, args = {"-f", "ndjson"}}
      assert.are.same({0, "200\n", ""}, {held.code, held.stdout, held.stderr})
      local refused = {
        {"return {f = print}", "setup value.f: cannot transfer a function"},
        {"local t = {} t.a = {b = t} return t", "setup value.a.b: cannot transfer a cycle"},
        {"return {[{}] = 1}", "setup value: cannot transfer a table as a key"},
        {"return {x = {io.stdout}}", "setup value.x[1]: cannot transfer a userdata"},
        {deep:format(201), "setup value" .. ("[1]"):rep(70) .. "...: nested deeper than 200 levels"},
      }
      for _, c in ipairs(refused) do
        local r = testing.run{job_source = "function setup() " .. c[1] .. " end\n"
                                .. "function process() return 1 end", items = {"a"}}
        assert.are.same({1, "luaworkq: setup failed: " .. c[2]},
                        {r.code, support.first_line(r.stderr)})
      end
    end)

  it("encodes with luaworkq.json.encode as the table it was", function()
    local r = run([[
      function process()
        return {luaworkq.json.encode(luaworkq.shared), luaworkq.json.encode(luaworkq.shared.k)}
      end]])
    local quoted = '"' .. SETUP_JSON:gsub('"', '\\"') .. '"'
    assert.are.same({0, "[" .. quoted .. ',"[10,20,{\\"x\\":\\"y\\"}]"]\n', ""},
                    {r.code, r.stdout, r.stderr})
  end)

  it("crosses to the host by value when a result holds it or a part of it", function()
    local r = run([[
      function process(item)
        if item == "all" then return luaworkq.shared end
        return {part = luaworkq.shared.users.alice, list = luaworkq.shared.k}
      end]], {"all", "part"}, {"-j", "2"})
    assert.are.same({0, SETUP_JSON .. '\n{"list":[10,20,{"x":"y"}],'
                        .. '"part":{"age":31,"tags":["a","b"]}}\n', ""},
                    {r.code, r.stdout, r.stderr})
    local m = run([[
      function process(item) return {[item] = luaworkq.shared.users.alice} end
      function merge(a, b) for k, v in pairs(b) do a[k] = v end; return a end]],
      {"x", "y"}, {"-j", "2"})
    assert.are.same({0, '{"x":{"age":31,"tags":["a","b"]},"y":{"age":31,"tags":["a","b"]}}\n', ""},
                    {m.code, m.stdout, m.stderr})
  end)

  -- {the assignment, where it fails: line 2 of the process below}
  local assignments = {
    {"s.name = 'x'", "shared.name"},
    {"s.k[1] = 5", "shared.k[1]"},
    {"s.k[3].x = nil", "shared.k[3].x"},
    {"s.users.alice.tags[3] = 'c'", "shared.users.alice.tags[3]"},
    {"s['a b']['c.d'][1] = 0", 'shared["a b"]["c.d"][1]'},
    {"s[7] = 1", "shared[7]"},
    {"s.new = {}", "shared.new"},
    {"table.insert(s.k, 1)", "shared.k[4]"},
  }
  for _, c in ipairs(assignments) do
    it("refuses an assignment, naming the key path: " .. c[1], function()
      local r = testing.run{job_source = "function process()\n  local s = luaworkq.shared; "
        .. c[1] .. "\nend\n" .. SETUP, items = {"a"}}
      assert.are.same({1, "[]\n"}, {r.code, r.stdout})
      assert.matches("^luaworkq: item 1 %(stdin:1%) failed: ", r.stderr)
      local line = c[1]:match("^table") and "[C]" or "2"
      if line == "2" then
        assert.are.equal("2: " .. c[2] .. ": shared data is read-only", failure(r.stderr))
      else
        assert.truthy(r.stderr:find(": " .. c[2] .. ": shared data is read-only\n", 1, true))
      end
    end)
  end

  it("refuses an assignment in init to its argument, so the run stops", function()
    local r = run([[
      function init(shared)
        shared.users.carol = {age = 1}
      end
      function process() return 1 end]], nil, {"-j", "1"})
    assert.are.equal(1, r.code)
    assert.matches("^luaworkq: init failed in worker 1: ", r.stderr)
    local line = select(2, SETUP:gsub("\n", "")) + 2
    assert.are.equal(line .. ": shared.users.carol: shared data is read-only", failure(r.stderr))
  end)

  it("gives a private, writable deep copy through luaworkq.copy", function()
    local r = run([[
      function process()
        local s = luaworkq.shared
        local mine = luaworkq.copy(s.users)
        mine.alice.age = 0
        mine.carol = {age = 5}
        table.insert(mine.alice.tags, "c")
        local t = {1, {2}}
        t.self = t
        local c = luaworkq.copy(t)
        return {mine, s.users.alice.age, #s.users.alice.tags, c.self == c, c[2] ~= t[2],
                c[2][1], luaworkq.copy(s.users.bob.tags), luaworkq.copy("x"),
                getmetatable(mine) == nil and type(mine) == "table"}
      end]])
    assert.are.same({0, '[{"alice":{"age":0,"tags":["a","b","c"]},"bob":{"age":27,"tags":[]},'
                        .. '"carol":{"age":5}},31,2,true,true,2,[],"x",true]\n', ""},
                    {r.code, r.stdout, r.stderr})
  end)

  it("reads the same through luaworkq.testing's job.run as through the binary", function()
    local path = os.tmpname()
    testing.write_file(path, SETUP .. [[
      local S
      function init(shared) S = shared end
      function process(item)
        local s = luaworkq.shared
        local _, err = pcall(function() s.users.alice.age = 0 end)
        local mine = luaworkq.copy(s.users.alice)
        mine.age = mine.age + 1
        return {S == s, s.k[3].x, #s.k, s.users.alice.tags[2], mine.age, s.users.alice,
                (err:gsub("^.-:%d+: ", ""))}
      end]])
    local job = testing.load(path, {quiet = true})
    local r = testing.run{job = path, items = {"a"}, args = {"-f", "ndjson"}}
    os.remove(path)
    local expected = {true, "y", 3, "b", 32, {age = 31, tags = {"a", "b"}},
                      "shared.users.alice.age: shared data is read-only"}
    assert.are.same({expected}, job.run{"a"})
    assert.are.same({0, {expected}, ""}, {r.code, r.output, r.stderr})
  end)

  it("is not counted against a worker's --memory-limit", function()
    -- 10 MB of shared strings, then items that each make 5 MB (10 MB while
    -- string.rep runs): a copy of
    -- the data in the worker would put it past 16 MB.
    local r = testing.run{job_source = [[
      function setup()
        local t = {}
        for i = 1, 10 do t[i] = string.rep(string.char(96 + i), 1024 * 1024) end
        return t
      end
      local S
      function init(shared) S = shared end
      function process(item)
        local n = #string.rep(item, 5 * 1024 * 1024)
        return {n, #S, S[tonumber(item)]:sub(1, 3)}
      end]], items = {"1", "2", "3", "4"},
      args = {"-j", "2", "-f", "ndjson", "--memory-limit", "16"}}
    local mb = 5 * 1024 * 1024
    assert.are.same({0, ('[%d,10,"aaa"]\n[%d,10,"bbb"]\n[%d,10,"ccc"]\n[%d,10,"ddd"]\n')
                          :format(mb, mb, mb, mb), ""},
                    {r.code, r.stdout, r.stderr})
  end)

  -- 5000 keys: the view keeps the keys read lately in a table of its own,
  -- renewed as 16,000 other reads go by; the values must stay right.
  it("is read by many workers at once, each getting every value right", function()
    local r = testing.run{job_source = [[
      function setup()
        local t = {}
        for i = 1, 5000 do t["k" .. i] = {i, tostring(i)} end
        return {map = t}
      end
      function process(item)
        local map, sum, n = luaworkq.shared.map, 0, 0
        for i = 1, 5000 do
          local v = map["k" .. i]
          if v[2] == tostring(v[1]) and v == map["k" .. i] then sum = sum + v[1] end
        end
        for k, v in pairs(map) do
          if map[k][1] == v[1] then n = n + 1 end
        end
        return n == 5000 and sum or -1
      end
      function merge(a, b) return a + b end]],
      items = support.lines_of(support.numbers(64)), args = {"-j", "8"}}
    assert.are.same({0, tostring(64 * 5000 * 5001 // 2) .. "\n", ""},
                    {r.code, r.stdout, r.stderr})
  end)
end)
