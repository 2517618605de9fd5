-- Scheduling: a free worker takes the next item, however long another item
-- runs. The reorder window is bounded by what its batches weigh, not by
-- their number, so a slow item at its head does not stop the others.
local testing = require "luaworkq.testing"
local support = require "support"

-- Item 1 runs until the last item has run on the other worker: a window
-- that held a fixed number of batches (4 x workers + 4, at most 4096 items
-- each) would stop the other worker long before item N and never end.
local N = 100000
local JOB = [[
local marker = luaworkq.args.dir .. "/last-done"
local N = tonumber(luaworkq.args.n)
local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end
function process(item, index)
  if index == 1 then
    local deadline = os.time() + 120  -- a stalled run still ends
    while not exists(marker) do
      if os.time() > deadline then error("the other worker never reached item " .. N) end
    end
  elseif index == N then
    assert(io.open(marker, "w")):close()
  end
  return index
end
]]

describe("a free worker", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  for _, case in ipairs{
    {"writes results in input order while the first item waits for the last",
     {}, function(lines)
       for i = 1, N do if lines[i] ~= tostring(i) then return false end end
       return true
     end},
    -- The other worker hands back every batch but the one holding item N
    -- before item 1 can end.
    {"with --unordered writes the waiting item's result after the others",
     {"--unordered"}, function(lines)
       local at
       for i, l in ipairs(lines) do if l == "1" then at = i end end
       return at ~= nil and at > N / 2
     end},
  } do
    local name, extra, ordered_as_expected = case[1], case[2], case[3]
    it(name, function()
      local args = {"-j", "2", "-f", "lines", "--set", "dir=" .. dir, "--set", "n=" .. N}
      for _, a in ipairs(extra) do args[#args + 1] = a end
      local r = testing.run{job_source = JOB, input = support.numbers(N), args = args}
      assert.are.same({0, ""}, {r.code, r.stderr})
      local lines = support.lines_of(r.stdout)
      assert.are.equal(N, #lines)
      assert.is_true(ordered_as_expected(lines))
      local seen = {}
      for _, l in ipairs(lines) do seen[tonumber(l)] = true end
      for i = 1, N do assert(seen[i], "result " .. i .. " is missing") end
    end)
  end
end)

-- Workers ask for long time slices (100 ms), which Linux grants a normal
-- thread since 6.12; the programs a job starts keep the default slice, and
-- nice passes to workers and programs as it is.
local SLICE_JOB = [[
local function field(text, at) -- the at-th field of /proc/.../stat after the name
  local n = 0
  for f in text:match("%) (.*)"):gmatch("%S+") do
    n = n + 1
    if n == at then return f end
  end
end
local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end
function process()
  local p = io.popen("cat /proc/self/sched; echo; cat /proc/self/stat")
  local child = p:read("a")
  p:close()
  return table.concat({read("/proc/thread-self/sched"):match("se%.slice%s*:%s*(%d+)") or "-",
                       field(read("/proc/thread-self/stat"), 17),
                       child:match("se%.slice%s*:%s*(%d+)") or "-",
                       field(child:match("\n(%d+ %(.*)$"), 17)}, " ")
end
]]

local function kernel_at_least(major, minor)
  local a, b = support.output_of("uname -r"):match("^(%d+)%.(%d+)")
  a, b = tonumber(a), tonumber(b)
  return a > major or (a == major and b >= minor)
end

describe("a worker's time slice", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  for _, nice in ipairs{0, 5} do
    it("is long for the worker, the default for its programs, at nice " .. nice, function()
      local job = testing.write_file(dir .. "/slice.lua", SLICE_JOB)
      local items = testing.write_file(dir .. "/items.txt", "a\nb\n")
      local bin = os.getenv("LUAWORKQ") or "luaworkq"
      local code, out = support.sh(("nice -n %d %s -j2 -f lines %s %s"):format(
        nice, testing.quote(bin), testing.quote(job), testing.quote(items)))
      assert.are.equal(0, code)
      local default = support.output_of(
        "sed -n 's/^se\\.slice *: *\\([0-9]*\\)$/\\1/p' /proc/self/sched") or "-"
      local lines = support.lines_of(out)
      assert.are.equal(2, #lines)
      for _, l in ipairs(lines) do
        local worker, worker_nice, child, child_nice = l:match("^(%S+) (%S+) (%S+) (%S+)$")
        if default ~= "-" and kernel_at_least(6, 12) then
          assert.are.equal("100000000", worker)
        end
        assert.are.equal(default, child)
        assert.are.same({tostring(nice), tostring(nice)}, {worker_nice, child_nice})
      end
    end)
  end
end)
