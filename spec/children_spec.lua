-- Calling programs: luaworkq.exec, os.execute and io.popen in jobs. A
-- program runs without a shell through exec; every child a job starts is
-- ended, with its own children, when its item times out and when the run
-- stops on a signal; an item that does not answer its interrupt ends the
-- run after a grace period. A program the job left open never holds the
-- end of the run, nor keeps a signal from ending it; a second signal
-- leaves the output well-formed; processes that left their program's
-- group (setsid) are ended too.
local testing = require "luaworkq.testing"
local support = require "support"

local quote = testing.quote
local first_line, last_line = support.first_line, support.last_line

-- The environment of runs that end at once: a ThreadSanitizer build sleeps
-- 1 s at exit while other threads live (its atexit_sleep_ms), and reports
-- the threads that finished and were not joined (the reader's, when it had
-- read everything), which an exit at once leaves by design.
-- The grace period for calls that never answer is 0.3 s, not 2 s, in the
-- runs that meet one (LUAWORKQ_TEST_GRACE_MS, for the tests alone), but
-- where default is true.
local function at_once_env(default)
  local tsan = os.getenv("TSAN_OPTIONS")
  return {TSAN_OPTIONS = (tsan and tsan ~= "" and tsan .. ":" or "")
                         .. "atexit_sleep_ms=0:report_thread_leaks=0",
          LUAWORKQ_TEST_GRACE_MS = not default and "300" or nil}
end


-- A `sleep` argument no other process on the machine has: children are
-- found by it with pgrep.
math.randomseed(os.time(), tonumber(tostring({}):match("0x(%x+)"), 16))
local function marker()
  return ("1000.%06d%03d"):format(math.random(0, 999999), math.random(0, 999))
end

-- How many processes have `sleep MARK` in their command line.
local function count(mark)
  local p = assert(io.popen("pgrep -c -f " .. quote("sleep " .. mark:gsub("%.", "[.]"))))
  local n = tonumber(p:read("a"):match("%d+"))
  p:close()
  return n or 0
end

-- A job whose every item starts children by `how` (with MARK for their
-- sleep, from --set mark=...) and waits on them.
local JOB = [[
local mark, how = luaworkq.args.mark, luaworkq.args.how
function process(item)
  if how == "exec" then
    luaworkq.exec({"sh", "-c", "sleep " .. mark .. " & sleep " .. mark .. "; wait"})
  elseif how == "os.execute" then
    os.execute("sleep " .. mark .. " & sleep " .. mark .. "; wait")
  elseif how == "io.popen" then
    local p = io.popen("sleep " .. mark .. " & sleep " .. mark .. "; wait; echo done")
    return p:read("a")
  elseif how == "exec ignoring SIGTERM" then
    luaworkq.exec({"sh", "-c", "trap '' TERM; sleep " .. mark .. "; true"})
  end
  return item
end
]]

local WAYS = {"exec", "os.execute", "io.popen"}
-- The processes of an item that count() finds: a shell (its command line
-- names the sleeps too) and its two sleeps, or, when SIGTERM is ignored, a
-- shell and one sleep.
local function per_item(how) return how == "exec ignoring SIGTERM" and 2 or 3 end

describe("a child a job starts", function()
  -- {how the stop comes, options, exit code, what the last line says}
  local stops = {
    {"its item's --timeout", {"--timeout", "0.3", "-k"}, 1, "luaworkq: 0 done, 2 failed"},
    {"SIGINT", {}, 130, "luaworkq: interrupted: 0 done, 0 failed, 2 not processed"},
    {"SIGTERM", {}, 143, "luaworkq: interrupted: 0 done, 0 failed, 2 not processed"},
  }
  local ways = {table.unpack(WAYS)}
  ways[#ways + 1] = "exec ignoring SIGTERM"
  for _, how in ipairs(ways) do
    for _, stop in ipairs(stops) do
      it("started by " .. how .. " is ended with its group on " .. stop[1], function()
        local mark = marker()
        local args = {"-j", "2", "--set", "mark=" .. mark, "--set", "how=" .. how}
        for _, a in ipairs(stop[2]) do args[#args + 1] = a end
        local proc = testing.spawn{job_source = JOB, items = {"a", "b"}, args = args}
        local signal = stop[1]:match("^SIG(.*)")
        local want = 2 * per_item(how)
        -- A timeout may come before this spec has seen them all.
        local started = not signal or
          testing.wait_for(function() return count(mark) == want end, 20)
        if signal then proc.kill(signal) end
        local r = proc.wait(20)
        assert.is_true(started, "the children never ran; stderr: " .. r.stderr)
        assert.are.same({stop[3], "[]\n", stop[4]}, {r.code, r.stdout, last_line(r.stderr)})
        if not signal then
          assert.matches("failed: timed out after 0.3 s\n", r.stderr)
        end
        assert.are.equal(0, count(mark))
      end)
    end
  end

  it("times out with its item's message and a traceback through the call", function()
    for _, how in ipairs(WAYS) do
      local mark = marker()
      local r = testing.run{job_source = JOB, items = {"a"},
        args = {"--timeout", "0.2", "--set", "mark=" .. mark, "--set", "how=" .. how}}
      assert.are.same({1, "[]\n"}, {r.code, r.stdout})
      assert.are.equal("luaworkq: item 1 (stdin:1) failed: timed out after 0.2 s",
                       first_line(r.stderr))
      local call = how == "io.popen" and "method 'read'" or "function '" ..
        (how == "exec" and "luaworkq.exec" or how) .. "'"
      assert.matches("\n\t%[C%]: in " .. call:gsub("%p", "%%%0") .. "\n", r.stderr)
      assert.are.equal(0, count(mark))
    end
  end)

  it("left running by a popen handle the item never closed is ended on a timeout", function()
    local mark = marker()
    local r = testing.run{job_source = ([[
      function process(item)
        handle = io.popen("sleep %s")
        while true do end
      end]]):format(mark), items = {"a"}, args = {"--timeout", "0.2"}}
    assert.are.same({1, "[]\n"}, {r.code, r.stdout})
    assert.are.equal(0, count(mark))
  end)

  it("that init left open is not ended by another item's timeout", function()
    local dir = testing.tmpdir()
    local out = dir .. "/kept.txt"
    local r = testing.run{job_source = ([[
      function init() sink = assert(io.popen("cat > %s", "w")) end
      function process(item)
        if item == "slow" then while true do end end
        assert(sink:write(item, "\n"))
        assert(sink:flush())
        return item
      end
      function shutdown() sink:close() end]]):format(quote(out)),
      items = {"a", "slow", "b"}, args = {"-j", "1", "-k", "--timeout", "0.2"}}
    local kept = testing.read_file(out)
    testing.remove_tree(dir)
    assert.are.same({1, '["a","b"]\n', "a\nb\n"}, {r.code, r.stdout, kept})
  end)

  it("left running by a popen handle of a finished item is ended on SIGINT", function()
    local mark = marker()
    local proc = testing.spawn{job_source = ([[
      function process(item, index)
        if index == 1 then handle = io.popen("sleep %s") return item end
        luaworkq.exec({"sleep", "%s"})
      end]]):format(mark, mark), items = {"a", "b"}, args = {"-j", "1"}}
    local started = testing.wait_for(function() return count(mark) >= 2 end, 20)
    proc.kill("INT")
    local r = proc.wait(20)
    assert.is_true(started, "the children never ran; stderr: " .. r.stderr)
    assert.are.same({130, '["a"]\n'}, {r.code, r.stdout})
    assert.are.equal(0, count(mark))
  end)

  it("a retry after a timeout gets to run its program", function()
    local dir = testing.tmpdir()
    local r = testing.run{job_source = support.SPIN_ONCE .. [[
      function process(item)
        spin_once()
        local code, out = luaworkq.exec({"echo", item})
        return out
      end]], items = {"a"},  -- 1 s: the retry's program may wait for a CPU
      args = {"--timeout", "1", "--retries", "1", "--set", "dir=" .. dir}}
    testing.remove_tree(dir)
    assert.are.same({0, '["a\\n"]\n', ""}, {r.code, r.stdout, r.stderr})
  end)
end)

describe("an item that does not answer its interrupt", function()
  -- Lua runs no hooks while a finalizer runs: this one never returns.
  local STUCK = [[
local dir = luaworkq.args.dir
function process(item, index)
  if index == 3 and io.open(dir .. "/stuck") then
    assert(io.open(dir .. "/looping", "w")):close()
    setmetatable({}, {__gc = function() while true do end end})
    collectgarbage()
  end
  return item
end
]]
  local dir
  support.tmpdir_each(function(path) dir = path end)

  local function items(n)
    local t = {}
    for i = 1, n do t[i] = tostring(i) end
    return t
  end

  -- {how it is interrupted, extra options, signal to send, exit code, words,
  -- the grace period (the default in one case)}
  local cases = {
    {"its --timeout", {"--timeout", "0.2"}, nil, 1, "its timeout", "0.3"},
    {"SIGINT", {}, "INT", 130, "the interrupt", "0.3"},
    {"SIGTERM", {}, "TERM", 143, "the interrupt", "2"},
  }
  for _, case in ipairs(cases) do
    it("after " .. case[1] .. " ends the run within the grace period, naming it", function()
      testing.write_file(dir .. "/stuck", "")
      local args = {"-j", "1", "--set", "dir=" .. dir}
      for _, a in ipairs(case[2]) do args[#args + 1] = a end
      local proc = testing.spawn{job_source = STUCK, items = items(5), args = args,
                                 env = at_once_env(case[6] == "2")}
      local looping = testing.wait_for(dir .. "/looping", 20)
      if case[3] then proc.kill(case[3]) end
      local r = proc.wait(20)
      assert.is_true(looping, "the item never ran; stderr: " .. r.stderr)
      assert.are.equal(case[4], r.code)
      assert.are.equal("luaworkq: item 3 (worker 1) did not stop within " .. case[6] .. " s of "
                       .. case[5] .. "; ending the run", last_line(r.stderr))
    end)
  end

  it("leaves a journal that a second run resumes from", function()
    testing.write_file(dir .. "/stuck", "")
    local journal = dir .. "/journal"
    local args = {"-j", "1", "--timeout", "0.2", "--journal", journal, "--set", "dir=" .. dir}
    local first = testing.run{job_source = STUCK, items = items(5), args = args,
                              env = at_once_env()}
    assert.are.equal(1, first.code)
    os.remove(dir .. "/stuck")
    local second = testing.run{job_source = STUCK, items = items(5), args = args}
    assert.are.same({0, '["1","2","3","4","5"]\n', ""},
                    {second.code, second.stdout, second.stderr})
  end)

  it("ends its children with the run", function()
    local mark = marker()
    local proc = testing.spawn{job_source = ([[
      function process(item)
        handle = io.popen("sleep %s")
        setmetatable({}, {__gc = function() while true do end end})
        collectgarbage()
      end]]):format(mark), items = {"a"}, args = {"--timeout", "0.2"}, env = at_once_env()}
    local r = proc.wait(20)
    assert.are.equal(1, r.code)
    assert.is_true(testing.wait_for(function() return count(mark) == 0 end, 5))
  end)
end)

describe("luaworkq.exec", function()
  local function run_job(body, input)
    return testing.run{job_source = "function process(item)\n" .. body .. "\nend\n",
                       input = input or "x\n", args = {"-f", "ndjson"}}
  end

  -- {what a user does, process's body, the one result (JSON)}
  local cases = {
    {"passes arguments with spaces, quotes and a leading dash as they are",
      [[return {luaworkq.exec({"printf", "<%s>", "a b", "it's", '"q"', "-n", ""})}]],
      [=[[0,"<a b><it's><\"q\"><-n><>",""]]=]},
    {"feeds opts.stdin and captures stdout and stderr apart",
      [[return {luaworkq.exec({"sh", "-c", "tr a-z A-Z; echo oops >&2"}, {stdin = "hello"})}]],
      '[0,"HELLO","oops\\n"]'},
    {"gives the exit status", [[return (luaworkq.exec({"sh", "-c", "exit 7"}))]], "7"},
    {"gives 128 + the signal for a program killed by one",
      [[return (luaworkq.exec({"sh", "-c", "kill -TERM $$"}))]], "143"},
    {"gives a program without opts.stdin an empty input, not the items",
      [[return {luaworkq.exec({"cat"})}]], '[0,"",""]'},
    {"looks the program up on PATH", [[return select(2, luaworkq.exec({"echo", "hi"}))]],
      '"hi\\n"'},
    {"moves megabytes both ways at once without blocking",
      [[local input = string.rep("0123456789abcdef", 262144)  -- 4 MiB
        local code, out, err = luaworkq.exec({"sh", "-c", "tee /dev/stderr"}, {stdin = input})
        return {code, out == input, err == input}]], "[0,true,true]"},
    {"captures large outputs on both streams",
      [[local code, out, err = luaworkq.exec({"sh", "-c",
          "head -c 6000000 /dev/zero | tr '\\0' a >&2; head -c 5000000 /dev/zero | tr '\\0' b"})
        return {code, #out, #err, out:match("^b*$") ~= nil, err:match("^a*$") ~= nil}]],
      "[0,5000000,6000000,true,true]"},
  }
  support.each_returns(cases, run_job)

  it("finds a program again on PATH once it is gone from where it was found", function()
    -- exec keeps where it found a name on PATH; the program there removed,
    -- the next exec searches again and finds the one further on.
    local dir = testing.tmpdir()
    for _, d in ipairs{"a", "b"} do
      assert(os.execute(("mkdir %s/%s && printf '#!/bin/sh\\necho %s\\n' > %s/%s/prog && chmod +x %s/%s/prog")
        :format(dir, d, d, dir, d, dir, d)))
    end
    testing.write_file(dir .. "/job.lua", ([[
      function process(s)
        if s == "3" then assert(os.remove(%q)) end
        local _, first = luaworkq.exec({"prog"})  -- item 3: where it was found is gone
        local _, echoed = luaworkq.exec({"echo", s})  -- another name: its own path
        local _, last = luaworkq.exec({"prog"})
        return first .. echoed .. last
      end]]):format(dir .. "/a/prog"))
    local code, out = support.sh(("cd %s && printf '1\\n2\\n3\\n4\\n' | PATH=%s/a:%s/b:$PATH %s -j1 -f lines job.lua")
      :format(dir, dir, dir, testing.quote(os.getenv("LUAWORKQ") or "luaworkq")))
    assert.are.same({0, "a\n1\na\n\na\n2\na\n\nb\n3\nb\n\nb\n4\nb\n\n"}, {code, out})
  end)

  -- {what a user does wrong, process's body, the error message}
  local errors = {
    {"names a program that is not there",
      [[luaworkq.exec({"no-such-program-for-luaworkq"})]],
      "cannot run no-such-program-for-luaworkq: No such file or directory"},
    {"passes a string for argv", [[luaworkq.exec("ls -l")]],
      "bad argument #1 to 'exec' (table expected, got string)"},
    {"passes an empty argv", [[luaworkq.exec({})]],
      "bad argument #1 to 'exec' (argv must hold the program's name)"},
    {"passes a number for stdin", [[luaworkq.exec({"cat"}, {stdin = 5})]],
      "bad argument #2 to 'exec' (stdin is a number, not a string)"},
    {"puts a table in argv", [[luaworkq.exec({"echo", {}})]],
      "bad argument #1 to 'exec' (argv[2] is a table, not a string)"},
  }
  for _, case in ipairs(errors) do
    it("fails the item when a job " .. case[1], function()
      local r = run_job(case[2])
      assert.are.equal(1, r.code)
      assert.matches("^luaworkq: item 1 %(stdin:1%) failed: [^\n]*"
                     .. case[3]:gsub("%p", "%%%0") .. "\n", r.stderr)
    end)
  end
end)

describe("os.execute and io.popen in a job", function()
  -- show(...) writes its arguments as one string: nil cannot be in a list.
  local SHOW = [[
local function show(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  return table.concat(t, " ", 1, t.n)
end
]]
  -- {what a user does, process's body, the one result (JSON), stderr}
  local cases = {
    {"os.execute gives Lua's results", [[return show(os.execute("exit 3"))]],
      '"nil exit 3"', ""},
    {"os.execute() says a shell is there", [[return os.execute()]], "true", ""},
    {"a program's stdout under os.execute goes to stderr, not into the results",
      [[return show(os.execute("echo from-the-program"))]], '"true exit 0"',
      "from-the-program\n"},
    {"io.popen reads a program's output and close gives its status",
      [[local p = io.popen("echo out; exit 2")
        local s = p:read("a")
        return show(s, p:close())]], '"out\\n nil exit 2"', ""},
    {"io.popen in 'w' mode feeds a program whose stdout goes to stderr",
      [[local p = io.popen("tr a-z A-Z", "w")
        p:write("shouted\n")
        return show(p:close())]], '"true exit 0"', "SHOUTED\n"},
    {"a program under os.execute does not read the items",
      [[return show(os.execute("cat"))]], '"true exit 0"', ""},
  }
  for _, case in ipairs(cases) do
    it(case[1], function()
      local r = testing.run{job_source = SHOW .. "function process(item)\n" .. case[2]
                              .. "\nend\n", items = {"x"}, args = {"-f", "ndjson"}}
      assert.are.same({0, case[3] .. "\n", case[4]}, {r.code, r.stdout, r.stderr})
    end)
  end

  it("io.popen refuses a mode other than 'r' and 'w'", function()
    local r = testing.run{job_source = [[function process() io.popen("true", "rw") end]],
                          items = {"x"}}
    assert.are.equal(1, r.code)
    assert.matches("bad argument #2 to 'popen' %(invalid mode%)", r.stderr)
  end)
end)

-- Kills what a failing case may have left running: processes with `sleep
-- MARK` in their command line, and the process whose pid is in pidfile.
local function clean_up(marks, pidfile)
  for _, mark in ipairs(marks) do
    os.execute("pkill -KILL -f " .. quote("sleep " .. mark:gsub("%.", "[.]")))
  end
  local pid = pidfile and tonumber(testing.read_file(pidfile) or "")
  if pid then os.execute("kill -KILL " .. pid .. " 2>/dev/null") end
end

-- Whether process pid is there (kill -0 succeeds).
local function alive(pid)
  return os.execute("kill -0 " .. pid .. " 2>/dev/null") == true
end

describe("a program a job leaves open", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  -- Item 1 opens a program and never closes its handle. A run waits at
  -- most 10 s here (proc.wait raises an error past it): the program runs
  -- far longer.
  local OPEN = [[
local dir, mark = luaworkq.args.dir, luaworkq.args.mark
local function touch(name) assert(io.open(dir .. "/" .. name, "w")):close() end
function process(item, index)
  if index == 1 then handle = io.popen("sleep " .. mark) end
  return item
end
]]

  it("is ended when its state closes, with one warning: the run ends at once", function()
    local mark = marker()
    finally(function() clean_up({mark}) end)
    local proc = testing.spawn{job_source = OPEN, items = {"a", "b", "c"},
                               args = {"-j", "1", "--set", "dir=" .. dir, "--set", "mark=" .. mark}}
    local r = proc.wait(10)
    assert.are.same({0, '["a","b","c"]\n',
                     "luaworkq: worker 1: ended a program the job left open (io.popen): sleep "
                     .. mark .. "\n"}, {r.code, r.stdout, r.stderr})
    assert.are.equal(0, count(mark))
  end)

  -- {where the end of the run waits for the signal, the job's code}: the
  -- job makes the marker "waiting" and then waits on a program until the
  -- signal interrupts it.
  local phases = {
    {"in shutdown", [[
function shutdown()
  touch("waiting")
  luaworkq.exec({"sleep", mark})
end]]},
    {"in a finalizer as its state closes", [[
closing = setmetatable({}, {__gc = function()
  touch("waiting")
  luaworkq.exec({"sleep", mark})
end})]]},
  }
  for _, phase in ipairs(phases) do
    it("does not keep SIGINT from ending the run when it comes " .. phase[1], function()
      local mark = marker()
      finally(function() clean_up({mark}) end)
      local proc = testing.spawn{job_source = OPEN .. phase[2], items = {"a", "b", "c"},
        args = {"-j", "1", "--set", "dir=" .. dir, "--set", "mark=" .. mark}}
      local waiting = testing.wait_for(dir .. "/waiting", 10)
      proc.kill("INT")
      local r = proc.wait(10)
      assert.is_true(waiting, "the end of the run was never reached; stderr: " .. r.stderr)
      -- An interrupted hook is not a failure to report.
      assert.are.same({130, '["a","b","c"]\n',
                       "luaworkq: worker 1: ended a program the job left open (io.popen): sleep "
                       .. mark .. "\nluaworkq: interrupted: 3 done, 0 failed, 0 not processed\n"},
                      {r.code, r.stdout, r.stderr})
      assert.are.equal(0, count(mark))
    end)
  end
end)

describe("a second signal", function()
  it("while items wait on programs ends the run at once with its JSON array closed", function()
    local dir = testing.tmpdir()
    local mark, mark2 = marker(), marker()
    finally(function() clean_up({mark, mark2}) testing.remove_tree(dir) end)
    -- Items a and b finish, c and d wait on programs. After the first
    -- signal, each worker's shutdown opens a program and spins, so that
    -- the run is still there for the second one.
    local job = [[
local dir, mark, mark2 = luaworkq.args.dir, luaworkq.args.mark, luaworkq.args.mark2
function process(item)
  if item == "c" or item == "d" then luaworkq.exec({"sleep", mark}) end
  return item
end
function shutdown()
  handle = io.popen("sleep " .. mark2)
  assert(io.open(dir .. "/shutdown-" .. luaworkq.worker, "w")):close()
  while true do end
end
]]
    local proc = testing.spawn{job_source = job, items = {"a", "b", "c", "d"}, env = at_once_env(),
      args = {"-j", "2", "--set", "dir=" .. dir, "--set", "mark=" .. mark, "--set", "mark2=" .. mark2}}
    local waiting = testing.wait_for(function() return count(mark) >= 1 end, 10)
    proc.kill("INT")
    local spinning = testing.wait_for(function()
      return testing.read_file(dir .. "/shutdown-1") and testing.read_file(dir .. "/shutdown-2")
    end, 10)
    proc.kill("TERM")
    local r = proc.wait(10)
    assert.is_true(waiting and spinning, "the run never got there; stderr: " .. r.stderr)
    assert.are.equal(143, r.code)
    -- What the writer had written when the signal came: a prefix.
    local prefixes = {["[]\n"] = true, ['["a"]\n'] = true, ['["a","b"]\n'] = true}
    assert.is_true(prefixes[r.stdout], "stdout: " .. r.stdout)
    assert.are.same({0, 0}, {count(mark), count(mark2)})
  end)
end)

describe("a process that left its program's group (setsid)", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  -- Item 1's program starts a process in a session of its own that writes
  -- its pid to a file and becomes `sleep MARK`; the program waits for it
  -- ("wait") or, in the background case, exits at once, and the item waits
  -- for the pid in the file.
  local JOB = [[
local dir, mark, how = luaworkq.args.dir, luaworkq.args.mark, luaworkq.args.how
function process(item, index)
  if index ~= 1 then return item end
  local pidfile = dir .. "/pid"
  local start = "setsid sh -c 'echo $$ > " .. pidfile .. "; exec sleep " .. mark .. "' &"
  if how == "background" then
    os.execute(start)  -- not exec: the process would hold its pipes open
    local written
    repeat
      local f = io.open(pidfile)
      written = f and f:read("a"):match("\n")
      if f then f:close() end
    until written
  else
    luaworkq.exec({"sh", "-c", start .. " wait"})
  end
  return item
end
]]

  -- {how the run ends, options, signal, exit code, output, stderr pattern}
  local ends = {
    {"its item's --timeout", {"--timeout", "1", "-k"}, nil, 1, '["b"]\n',
      "failed: timed out after 1 s\n"},
    {"SIGINT", {}, "INT", 130, '[]\n', "^luaworkq: interrupted: 0 done, 0 failed, 2 not processed\n$"},
    {"the end of the run, its program gone", {}, nil, 0, '["a","b"]\n',
      "^luaworkq: ended a process that a program left running: PID %(%a+%)\n$", background = true},
  }
  for _, e in ipairs(ends) do
    it("is ended on " .. e[1], function()
      local mark, pidfile = marker(), dir .. "/pid"
      finally(function() clean_up({mark}, pidfile) end)
      local args = {"-j", "1", "--set", "dir=" .. dir, "--set", "mark=" .. mark,
                    "--set", "how=" .. (e.background and "background" or "wait")}
      for _, a in ipairs(e[2]) do args[#args + 1] = a end
      local proc = testing.spawn{job_source = JOB, items = {"a", "b"}, args = args}
      local started = testing.wait_for(function()
        return (testing.read_file(pidfile) or ""):match("\n") ~= nil
      end, 10)
      if e[3] then proc.kill(e[3]) end
      local r = proc.wait(10)
      assert.is_true(started, "the process never started; stderr: " .. r.stderr)
      local pid = tonumber(testing.read_file(pidfile))
      assert.are.same({e[4], e[5]}, {r.code, r.stdout})
      assert.matches(e[6]:gsub("PID", pid), r.stderr)
      assert.is_true(testing.wait_for(function() return not alive(pid) end, 5),
                     "process " .. pid .. " is still there")
    end)
  end
end)
