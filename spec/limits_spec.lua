-- Per-item limits and the failure policy: --timeout, --memory-limit,
-- --retries, -k and --errors FILE, and -j far above the number of items.
local testing = require "luaworkq.testing"
local system = require "system"  -- luasystem, which busted needs anyway

local has_cjson, cjson = pcall(require, "cjson")

local support = require "support"
local first_line, last_line, lines_of, numbers, BUSY =
  support.first_line, support.last_line, support.lines_of, support.numbers, support.BUSY

-- The lines of stderr that start a failure report.
local function reports(stderr)
  local t = {}
  for _, line in ipairs(lines_of(stderr)) do
    if line:match("^luaworkq: item %d+ ") then t[#t + 1] = line end
  end
  return t
end

-- Asserts that a run without -k over four items stopped at item 2, which
-- failed: exit 1, stdout, item 2's report first and the summary last.
local function stopped_at_item_2(r, stdout, failure)
  assert.are.same({1, stdout}, {r.code, r.stdout})
  assert.are.equal("luaworkq: item 2 (stdin:2) failed: " .. failure, first_line(r.stderr))
  assert.are.equal("luaworkq: stopped: 1 done, 1 failed, 2 not processed",
                   last_line(r.stderr))
end

describe("--timeout SEC", function()
  local SPIN = [[
function process(item)
  if item == "spin" then while true do end end
  return item
end
]]

  it("interrupts an item in `while true do end`: it fails with 'timed out after 0.2 s', "
     .. "with -k the others succeed", function()
    local t0 = system.monotime()
    local r = testing.run{job_source = SPIN, items = {"a", "spin", "b", "c"},
                          args = {"-j", "1", "-k", "--timeout", "0.2"}}
    local elapsed = system.monotime() - t0
    assert.are.same({1, '["a","b","c"]\n'}, {r.code, r.stdout})
    assert.are.same({"luaworkq: item 2 (stdin:2) failed: timed out after 0.2 s"}, reports(r.stderr))
    assert.are.equal("luaworkq: 3 done, 1 failed", last_line(r.stderr))
    assert.is_true(elapsed >= 0.2 and elapsed < 5, ("the run took %.3f s"):format(elapsed))
  end)

  -- Items that would end by themselves at five times the limit: one blocked
  -- on a program, one on the CPU (os.clock counts the process's CPU time,
  -- which on one worker is the item's, however loaded the machine is).
  for _, case in ipairs{
    {"waits on a program", 'os.execute("sleep 1.5")'},
    {"computes", "local t = os.clock() + 1.5 while os.clock() < t do end"},
  } do
    it("fails an item that " .. case[1] .. " for five times the limit", function()
      local r = testing.run{job_source = "function process(s) if s == 'slow' then "
                              .. case[2] .. " end return s end",
                            items = {"a", "slow", "b"}, args = {"-j", "1", "-k", "--timeout", "0.3"}}
      assert.are.same({1, '["a","b"]\n'}, {r.code, r.stdout})
      assert.are.same({"luaworkq: item 2 (stdin:2) failed: timed out after 0.3 s"},
                      reports(r.stderr))
    end)
  end

  it("without -k stops the run at the item that timed out", function()
    local r = testing.run{job_source = SPIN, items = {"a", "spin", "b", "c"},
                          args = {"-j", "1", "--timeout", "0.25"}}
    stopped_at_item_2(r, '["a"]\n', "timed out after 0.25 s")
  end)

  it("counts each item's own time: 40 items of 20 ms pass under --timeout 0.3 on one worker",
    function()
      local r = testing.run{job_source = BUSY .. "function process(item) busy(0.02) end",
                            input = numbers(40), args = {"-j", "1", "--timeout", "0.3"}}
      assert.are.same({0, "[]\n", ""}, {r.code, r.stdout, r.stderr})
    end)

  -- Eight workers share one CPU, so each item waits for it several times
  -- as long as it runs; a ninth waits on a program. The items burn 0.2 s
  -- of their own thread's CPU time (whatever the build's speed or the
  -- machine's load), and run a second or more by the clock.
  local SHARED_CPU = [[
local function cpu_s()  -- this thread's time on a CPU
  local f = assert(io.open("/proc/thread-self/schedstat"))
  local ns = f:read("n")
  f:close()
  return ns / 1e9
end
function process(item)
  if item == "sleep" then os.execute("sleep 5") end
  local t = cpu_s() + 0.2
  repeat for _ = 1, 1e5 do end until cpu_s() >= t
  return item
end
]]
  local function on_one_cpu(dir)
    return testing.write_file(dir .. "/one-cpu.sh", ([[
#!/bin/sh
cpu=$(taskset -cp $$ | sed 's/.*: *//; s/[-,].*//')
exec taskset -c "$cpu" %s "$@"
]]):format(testing.quote(support.absolute(os.getenv("LUAWORKQ") or "luaworkq"))))
  end

  local define = io.open("/proc/thread-self/schedstat") and it or pending
  define("counts an item's own time, not its waits for a CPU: 8 items of 0.2 s CPU on "
         .. "9 workers sharing one CPU pass --timeout 0.5; one waiting on a program fails",
    function()
      local dir = testing.tmpdir()
      local bin = on_one_cpu(dir)
      os.execute("chmod +x " .. testing.quote(bin))
      local items = {"sleep"}
      for i = 1, 8 do items[#items + 1] = "burn" .. i end
      local r = testing.run{job_source = SHARED_CPU, items = items, bin = bin,
                            args = {"-j", "9", "-k", "--timeout", "0.5"}}
      testing.remove_tree(dir)
      assert.are.same({1, '["burn1","burn2","burn3","burn4","burn5","burn6","burn7","burn8"]\n'},
                      {r.code, r.stdout})
      assert.are.same({"luaworkq: item 1 (stdin:1) failed: timed out after 0.5 s"},
                      reports(r.stderr))
    end)

  -- {how the item spins}: the message may say where the item was
  -- ("job.lua:2: timed out after 0.2 s").
  local endless = support.ENDLESS
  local loops = {endless.pcall, endless.tail_calls, endless.sort, endless.coroutine}
  for _, case in ipairs(loops) do
    it("interrupts " .. case[1], function()
      local proc = testing.spawn{
        job_source = "function process(item)\n" .. case[2] .. "\nend\n",
        items = {"a"}, args = {"-j", "1", "--timeout", "0.2"}}
      local r = proc.wait(5)
      assert.are.same({1, "[]\n"}, {r.code, r.stdout})
      local line, prefix = first_line(r.stderr), "luaworkq: item 1 (stdin:1) failed: "
      if line ~= prefix .. "timed out after 0.2 s" then
        assert.matches("^" .. prefix:gsub("%p", "%%%0") .. "[^\n]*:%d+: timed out after 0%.2 s$",
                       line)
      end
    end)
  end

  it("gives each retry its own time: an item that spins once passes with --retries 1",
    function()
      local dir = testing.tmpdir()
      local r = testing.run{job_source = support.SPIN_ONCE .. [[
        function process(item)
          spin_once()
          return item
        end]], items = {"a"},
        args = {"-j", "1", "--timeout", "0.2", "--retries", "1", "--set", "dir=" .. dir}}
      testing.remove_tree(dir)
      assert.are.same({0, '["a"]\n', ""}, {r.code, r.stdout, r.stderr})
    end)
end)

describe("--memory-limit MB", function()
  -- Each item names its worker, so that -j1 shows the same worker going on.
  local HUNGRY = [[
function process(item)
  if item == "table" then local t = {} for i = 1, 1e8 do t[i] = i end end
  if item == "rep" then return #string.rep("x", 100 * 1024 * 1024) end
  if item == "concat" then
    local t = {} for i = 1, 1e6 do t[i] = ("%09d"):format(i) end
    return #table.concat(t)
  end
  return item .. luaworkq.worker
end
]]

  it("fails an item that allocates past it, and the worker goes on with the next items",
    function()
      local r = testing.run{job_source = HUNGRY,
                            items = {"a", "table", "b", "rep", "c", "concat", "d"},
                            args = {"-j", "1", "-k", "--memory-limit", "16"}}
      assert.are.same({1, '["a1","b1","c1","d1"]\n'}, {r.code, r.stdout})
      assert.are.same({
        "luaworkq: item 2 (stdin:2) failed: memory limit of 16 MB exceeded",
        "luaworkq: item 4 (stdin:4) failed: memory limit of 16 MB exceeded",
        "luaworkq: item 6 (stdin:6) failed: memory limit of 16 MB exceeded",
      }, reports(r.stderr))
      assert.are.equal("luaworkq: 4 done, 3 failed", last_line(r.stderr))
    end)

  it("without -k stops the run at the item that went past it", function()
    local r = testing.run{job_source = HUNGRY, items = {"a", "table", "b", "c"},
                          args = {"-j", "1", "--memory-limit", "16"}}
    stopped_at_item_2(r, '["a1"]\n', "memory limit of 16 MB exceeded")
  end)

  it("lets items that each leave 6 MB of garbage succeed under 16 MB", function()
    local r = testing.run{job_source = [[
      function process(item) return #string.rep(item, 6 * 1024 * 1024) end]],
      items = {"a", "b", "c", "d", "e", "f", "g", "h"},
      args = {"-j", "1", "--memory-limit", "16"}}
    local n = 6 * 1024 * 1024
    assert.are.same({0, ("[%d,%d,%d,%d,%d,%d,%d,%d]\n"):format(n, n, n, n, n, n, n, n), ""},
                    {r.code, r.stdout, r.stderr})
  end)

  it("fails a 20 MB line under 16 MB as an item, without ending the process", function()
    local r = testing.run{job_source = "function process(item) return #item end",
                          input = "a\n" .. string.rep("x", 20 * 1024 * 1024) .. "\nbb\n",
                          args = {"-j", "1", "-k", "--memory-limit", "16"}}
    assert.are.same({1, "[1,2]\n"}, {r.code, r.stdout})
    assert.are.same({"luaworkq: item 2 (stdin:2) failed: memory limit of 16 MB exceeded"},
                    reports(r.stderr))
  end)

  it("fails a 20 MB JSON string under 16 MB with --ndjson-in, with the memory message",
    function()
      local r = testing.run{job_source = "function process(item) return #item end",
                            input = '"a"\n"' .. string.rep("x", 20 * 1024 * 1024) .. '"\n"bb"\n',
                            args = {"-j", "1", "-k", "--ndjson-in", "--memory-limit", "16"}}
      assert.are.same({1, "[1,2]\n"}, {r.code, r.stdout})
      assert.are.same({"luaworkq: item 2 (stdin:2) failed: memory limit of 16 MB exceeded"},
                      reports(r.stderr))
    end)

  it("in init names the hook and exits 1", function()
    local r = testing.run{job_source = [[
      function init() local t = {} for i = 1, 1e8 do t[i] = i end end
      function process(item) return item end]],
      items = {"a"}, args = {"-j", "1", "--memory-limit", "16"}}
    assert.are.equal(1, r.code)
    assert.are.equal("luaworkq: init failed in worker 1: memory limit of 16 MB exceeded",
                     first_line(r.stderr))
  end)

  it("at the job's top level is a setup error: exit 2", function()
    local r = testing.run{job_source = [[
      local t = {} for i = 1, 1e8 do t[i] = i end
      function process(item) return item end]],
      items = {"a"}, args = {"-j", "1", "--memory-limit", "16"}}
    assert.are.same({2, ""}, {r.code, r.stdout})
    assert.matches("^luaworkq: [^\n]*memory limit of 16 MB exceeded", r.stderr)
  end)
end)

describe("--retries N", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  -- Counts the attempts at each item in a file named by the item; the
  -- first two attempts fail.
  local FLAKY = [[
function process(item)
  local path = luaworkq.args.dir .. "/" .. item
  local f = io.open(path)
  local n = (f and tonumber(f:read("a")) or 0) + 1
  if f then f:close() end
  f = assert(io.open(path, "w"))
  f:write(n)
  f:close()
  if n <= 2 then error("attempt " .. n .. " at " .. item) end
  return item .. " after " .. n
end
]]

  -- {the options, exit code, stdout, attempts at each item, the message of
  -- item 1's report or nil}
  local cases = {
    {{}, 1, "[]\n", 1, "attempt 1 at a"},
    {{"--retries", "0"}, 1, "[]\n", 1, "attempt 1 at a"},
    {{"--retries", "1"}, 1, "[]\n", 2, "attempt 2 at a"},
    {{"--retries", "2"}, 0, '["a after 3","b after 3"]\n', 3},
    {{"--retries", "5"}, 0, '["a after 3","b after 3"]\n', 3},
  }
  for _, case in ipairs(cases) do
    local shown = #case[1] > 0 and table.concat(case[1], " ") or "no --retries"
    it(("with %s an item that fails twice, then succeeds, %s after %d attempt%s")
       :format(shown, case[2] == 0 and "succeeds" or "fails", case[4],
               case[4] > 1 and "s" or ""), function()
      local args = {"-j", "1", "--set", "dir=" .. dir}
      for _, a in ipairs(case[1]) do args[#args + 1] = a end
      local r = testing.run{job_source = FLAKY, items = {"a", "b"}, args = args}
      assert.are.same({case[2], case[3]}, {r.code, r.stdout})
      assert.are.equal(tostring(case[4]), testing.read_file(dir .. "/a"))
      if case[5] then
        assert.matches("^luaworkq: item 1 %(stdin:1%) failed: [^\n]*:%d+: " .. case[5] .. "\n",
                       r.stderr)
        assert.are.equal(1, #reports(r.stderr), "one report for the item:\n" .. r.stderr)
      else
        assert.are.equal("", r.stderr)
      end
    end)
  end

  it("with -k retries every failing item and reports each that still fails once", function()
    local r = testing.run{job_source = FLAKY, items = {"a", "b", "c"},
                          args = {"-j", "2", "-k", "--retries", "1", "--set", "dir=" .. dir}}
    assert.are.same({1, "[]\n"}, {r.code, r.stdout})
    assert.are.equal(3, #reports(r.stderr))
    for _, item in ipairs{"a", "b", "c"} do
      assert.are.equal("2", testing.read_file(dir .. "/" .. item))
    end
    assert.are.equal("luaworkq: 0 done, 3 failed", last_line(r.stderr))
  end)
end)

describe("-k and --errors FILE", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  -- Fails items 3, 6, 9...
  local JOB = [[
function process(item, index)
  if index % 3 == 0 then error("bad item " .. item) end
  return index
end
]]

  it("-k over 30 items with -j3: each failure reported, every other result in order, exit 1",
    function()
      local items = testing.write_file(dir .. "/items.txt", numbers(30))
      local job = testing.write_file(dir .. "/job.lua", JOB)
      local r = testing.run{job = job, files = {items}, args = {"-k", "-j", "3"}}
      local expected, expected_reports = {}, {}
      for i = 1, 30 do
        if i % 3 ~= 0 then
          expected[#expected + 1] = i
        else
          expected_reports[#expected_reports + 1] =
            ("luaworkq: item %d (%s:%d) failed: %s:2: bad item %d"):format(i, items, i, job, i)
        end
      end
      assert.are.same({1, "[" .. table.concat(expected, ",") .. "]\n"}, {r.code, r.stdout})
      assert.are.same(expected_reports, reports(r.stderr))
      assert.are.equal("luaworkq: 20 done, 10 failed", last_line(r.stderr))
    end)

  it("--errors FILE gets one record per failed item, in input order, keys sorted", function()
    local items = testing.write_file(dir .. "/items.txt", numbers(9))
    local job = testing.write_file(dir .. "/job.lua", JOB)
    local errors = dir .. "/errors.ndjson"
    local r = testing.run{job = job, files = {items}, args = {"-k", "-j", "3", "--errors", errors}}
    assert.are.same({1, "[1,2,4,5,7,8]\n"}, {r.code, r.stdout})
    local records = lines_of(assert(testing.read_file(errors), "no errors file"))
    assert.are.equal(3, #records)
    for n, record in ipairs(records) do
      local i = 3 * n
      local head = ('{"error":"%s:2: bad item %d","index":%d,"input":"%d","line":%d,'
        .. '"source":"%s","traceback":"stack traceback:\\n'):format(job, i, i, i, i, items)
      assert.are.equal(head, record:sub(1, #head))
      assert.are.equal('"}', record:sub(-2))
    end
  end)

  it("--errors FILE records read back as JSON, with the item's bytes escaped", function()
    assert(has_cjson, "these checks need lua-cjson")
    local errors = dir .. "/errors.ndjson"
    local items = {'tab\there', 'quote " and \\ backslash', "", "ok"}
    local r = testing.run{job_source = [[
      function process(item) if item ~= "ok" then error({}) end return item end]],
      items = items, args = {"-k", "-j", "2", "--errors", errors}}
    assert.are.same({1, '["ok"]\n'}, {r.code, r.stdout})
    local records = lines_of(assert(testing.read_file(errors), "no errors file"))
    assert.are.equal(3, #records)
    for i, line in ipairs(records) do
      local record = cjson.decode(line)
      local keys = {}
      for k in pairs(record) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.are.same({"error", "index", "input", "line", "source", "traceback"}, keys)
      assert.are.same({"(error object is a table value)", i, items[i], i, "stdin"},
                      {record.error, record.index, record.input, record.line, record.source})
      assert.matches("^stack traceback:\n", record.traceback)
    end
  end)

  it("--errors FILE records a timeout and a memory failure", function()
    assert(has_cjson, "these checks need lua-cjson")
    local errors = dir .. "/errors.ndjson"
    local r = testing.run{job_source = [[
      function process(item)
        if item == "spin" then while true do end end
        if item == "hungry" then return #string.rep("x", 100 * 1024 * 1024) end
        return item
      end]], items = {"spin", "hungry", "ok"},
      args = {"-k", "-j", "1", "--timeout", "0.2", "--memory-limit", "16", "--errors", errors}}
    assert.are.same({1, '["ok"]\n'}, {r.code, r.stdout})
    local records = lines_of(assert(testing.read_file(errors), "no errors file"))
    assert.are.equal(2, #records)
    local spin, hungry = cjson.decode(records[1]), cjson.decode(records[2])
    assert.are.same({"timed out after 0.2 s", 1, "spin"}, {spin.error, spin.index, spin.input})
    assert.are.same({"memory limit of 16 MB exceeded", 2, "hungry"},
                    {hungry.error, hungry.index, hungry.input})
  end)

  it("--errors FILE is empty when nothing fails, and replaces what FILE held", function()
    local errors = testing.write_file(dir .. "/errors.ndjson", "old\n")
    local r = testing.run{job_source = "function process(item) return item end",
                          items = {"a", "b"}, args = {"-k", "--errors", errors}}
    assert.are.same({0, '["a","b"]\n', ""}, {r.code, r.stdout, r.stderr})
    assert.are.equal("", testing.read_file(errors))
  end)
end)

describe("-j far above the number of items", function()
  it("-j 64 over 3 items: every worker runs init and shutdown, the results are whole",
    function()
      local dir = testing.tmpdir()
      local r = testing.run{job_source = [[
        local dir = luaworkq.args.dir
        local function touch(name) assert(io.open(dir .. "/" .. name, "w")):close() end
        function init() touch("init-" .. luaworkq.worker) end
        function process(item, index) return {item, index, luaworkq.workers} end
        function shutdown() touch("shutdown-" .. luaworkq.worker) end]],
        items = {"a", "b", "c"}, args = {"-j", "64", "--set", "dir=" .. dir}}
      local missing = {}
      for w = 1, 64 do
        for _, hook in ipairs{"init-", "shutdown-"} do
          if not testing.read_file(dir .. "/" .. hook .. w) then
            missing[#missing + 1] = hook .. w
          end
        end
      end
      testing.remove_tree(dir)
      assert.are.same({0, '[["a",1,64],["b",2,64],["c",3,64]]\n', ""},
                      {r.code, r.stdout, r.stderr})
      assert.are.same({}, missing)
    end)

  it("-j 1024 over 1 item", function()
    local r = testing.run{job_source = "function process(item) return luaworkq.workers end",
                          items = {"a"}, args = {"-j", "1024"}}
    assert.are.same({0, "[1024]\n", ""}, {r.code, r.stdout, r.stderr})
  end)
end)
