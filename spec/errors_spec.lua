-- Errors: bad command lines and jobs (exit 2), failing items and hooks
-- (exit 1), and what a stopped run leaves behind.
local testing = require "luaworkq.testing"

local GOOD = "function process(item) return item end\n"

local support = require "support"
local is_root, first_line, last_line = support.is_root, support.first_line, support.last_line


-- A command that runs the binary as the user nobody (uid 65534), for runs
-- that root's rights would change; dir is made readable to that user.
local function as_another_user(dir)
  local bin = os.getenv("LUAWORKQ") or "luaworkq"
  os.execute("chmod 755 " .. testing.quote(dir))
  local wrapper = testing.write_file(dir .. "/as-nobody",
    "#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups "
    .. testing.quote(support.absolute(bin)) .. ' "$@"\n')
  os.execute("chmod 755 " .. testing.quote(wrapper))
  return wrapper
end

describe("a usage error", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  -- $D in a case stands for the test's directory; a job is $D/job.lua.
  local function expand(s) return (s:gsub("%$D", function() return dir end)) end
  local function expand_pattern(s)
    local escaped = dir:gsub("%p", "%%%0")
    return (s:gsub("%$D", function() return escaped end))
  end

  -- {what the user does, first line of stderr or a pattern of stderr}; the
  -- job is GOOD unless the case has job (a path) or source; input is "a\n".
  local cases = {
    {"gives an input file that does not exist", files = {"$D/items.txt"},
      line = "luaworkq: cannot open $D/items.txt: No such file or directory"},
    {"gives an input file it cannot read", files = {"$D/secret.txt"}, unreadable = true,
      line = "luaworkq: cannot open $D/secret.txt: Permission denied"},
    {"gives a directory as input", files = {"$D"},
      line = "luaworkq: $D: is a directory"},
    {"gives a job that does not exist", job = "$D/nope.lua",
      pattern = "^luaworkq: [^\n]*$D/nope%.lua[^\n]*: No such file or directory"},
    {"gives a job that does not compile", source = "function process(item)\n  return = 1\nend\n",
      pattern = "^luaworkq: [^\n]*$D/job%.lua:2: unexpected symbol near '='"},
    {"gives a job without process", source = "x = 1", pattern = "^luaworkq: [^\n]*process"},
    {"gives a job whose process is not a function", source = "process = 42",
      pattern = "^luaworkq: [^\n]*process"},
    {"gives -j 0", args = {"-j", "0"}, pattern = "^luaworkq: [^\n]*%-j"},
    {"gives -j -1", args = {"-j", "-1"}, pattern = "^luaworkq: [^\n]*%-j"},
    {"gives -j abc", args = {"-j", "abc"}, pattern = "^luaworkq: [^\n]*%-j"},
    {"gives -j 1025, over the limit of 1024", args = {"-j", "1025"},
      pattern = "^luaworkq: [^\n]*%-j"},
    {"gives --jobs 0", args = {"--jobs", "0"}, pattern = "^luaworkq: [^\n]*%-j"},
    {"gives an unknown option", args = {"--frobnicate"},
      pattern = "^luaworkq: [^\n]*%-%-frobnicate"},
    {"gives an unknown short option", args = {"-Z"}, pattern = "^luaworkq: [^\n]*Z"},
    {"gives --set without =", args = {"--set", "foo"}, pattern = "^luaworkq: [^\n]*%-%-set"},
    {"gives -f with an unknown format", args = {"-f", "xml"}, pattern = "^luaworkq: [^\n]*xml"},
    {"gives no job at all", no_job = true, pattern = "^luaworkq: "},
    {"gives a directory as the job", job = "$D", line = "luaworkq: cannot load $D: is a directory"},
    {"gives a job that raises an error at its top level", source = "error('top level boom')",
      pattern = "^luaworkq: [^\n]*$D/job%.lua:1: top level boom"},
    {"gives a job whose merge is not a function", source = GOOD .. "merge = 5",
      pattern = "^luaworkq: [^\n]*merge"},
    {"gives a job whose init is not a function", source = GOOD .. "init = {}",
      pattern = "^luaworkq: [^\n]*init"},
    {"gives -j 1.5", args = {"-j", "1.5"}, pattern = "^luaworkq: [^\n]*%-j"},
    {"gives -j without a value", args = {"-j"}, no_job = true, line = "luaworkq: -j needs a value"},
    {"gives --timeout 0", args = {"--timeout", "0"}, pattern = "^luaworkq: [^\n]*%-%-timeout"},
    {"gives --timeout -1", args = {"--timeout", "-1"}, pattern = "^luaworkq: [^\n]*%-%-timeout"},
    {"gives --timeout abc", args = {"--timeout", "abc"}, pattern = "^luaworkq: [^\n]*%-%-timeout"},
    {"gives --timeout without a value", args = {"--timeout"}, no_job = true,
      line = "luaworkq: --timeout needs a value"},
    {"gives --memory-limit 0", args = {"--memory-limit", "0"},
      pattern = "^luaworkq: [^\n]*%-%-memory%-limit"},
    {"gives --memory-limit abc", args = {"--memory-limit", "abc"},
      pattern = "^luaworkq: [^\n]*%-%-memory%-limit"},
    {"gives --memory-limit 1.5", args = {"--memory-limit", "1.5"},
      pattern = "^luaworkq: [^\n]*%-%-memory%-limit"},
    {"gives --retries -1", args = {"--retries", "-1"}, pattern = "^luaworkq: [^\n]*%-%-retries"},
    {"gives --retries abc", args = {"--retries", "abc"}, pattern = "^luaworkq: [^\n]*%-%-retries"},
    {"gives --errors without -k", args = {"--errors", "errors.ndjson"},
      line = "luaworkq: --errors needs -k"},
    {"gives --errors FILE in a directory that does not exist",
      args = {"-k", "--errors", "/nonexistent-luaworkq-dir/errors.ndjson"},
      pattern = "^luaworkq: [^\n]*/nonexistent%-luaworkq%-dir/errors%.ndjson[^\n]*: "
        .. "No such file or directory"},
  }

  for _, case in ipairs(cases) do
    it(case[1] .. ": exit 2 and a message naming it", function()
      local job = case.job and expand(case.job)
      if not job and not case.no_job then
        job = testing.write_file(dir .. "/job.lua", case.source or GOOD)
      end
      local files = {}
      for i, f in ipairs(case.files or {}) do files[i] = expand(f) end
      local bin
      if case.unreadable then
        testing.write_file(files[1], "a\n")
        os.execute("chmod 000 " .. testing.quote(files[1]))
        if is_root() then bin = as_another_user(dir) end  -- root reads anything
      end
      local r = testing.run{job = job, files = files, args = case.args, items = {"a"}, bin = bin}
      assert.are.same({2, ""}, {r.code, r.stdout})
      if case.line then
        assert.are.equal(expand(case.line), first_line(r.stderr))
      else
        assert.matches(expand_pattern(case.pattern), r.stderr)
      end
    end)
  end
end)

describe("a refused command line", function()
  -- {what the user does, the arguments (a job follows unless no_job), the
  -- whole of stderr}: one line, which names the option as the user means it.
  local cases = {
    {"gives an unknown long option", {"--frobnicate"},
      "luaworkq: unknown option --frobnicate (see luaworkq --help)"},
    {"gives an unknown long option with a value", {"--frobnicate=3"},
      "luaworkq: unknown option --frobnicate (see luaworkq --help)"},
    {"gives an unknown short option", {"-Z"}, "luaworkq: unknown option -Z (see luaworkq --help)"},
    {"gives an unknown short option in a cluster after a long option", {"--csv", "-Zk"},
      "luaworkq: unknown option -Z (see luaworkq --help)"},
    {"gives an abbreviation of several options", {"--p"},
      "luaworkq: --p is ambiguous: --paragraph, --partial, --progress"},
    {"gives -j last, without its value", {"-j"}, "luaworkq: -j needs a value", no_job = true},
    {"gives an abbreviated --timeout last, without its value", {"--tim"},
      "luaworkq: --timeout needs a value", no_job = true},
    {"gives an abbreviated --csv a value", {"--cs=1"}, "luaworkq: --csv takes no value"},
    {"gives no job at all", {}, "luaworkq: no job script given (see luaworkq --help)",
      no_job = true},
    {"gives - as the job", {"-"},
      "luaworkq: the job script cannot be standard input ('-'): give its file", no_job = true},
    {"gives - as the job after --", {"--", "-", "items.txt"},
      "luaworkq: the job script cannot be standard input ('-'): give its file", no_job = true},
  }
  -- Every long option that takes no value, given one.
  for _, name in ipairs{"null", "paragraph", "csv", "tsv", "header", "ndjson-in", "unordered",
                        "keep-going", "merge", "partial", "progress", "no-progress", "quiet",
                        "stats", "check", "help", "version"} do
    cases[#cases + 1] = {"gives --" .. name .. "=1", {"--" .. name .. "=1"},
                         "luaworkq: --" .. name .. " takes no value"}
  end

  for _, case in ipairs(cases) do
    it(case[1] .. ": exit 2 and one line on stderr", function()
      local r = testing.run{job_source = not case.no_job and GOOD or nil, args = case[2],
                            items = {"a"}}
      assert.are.same({2, "", case[3] .. "\n"}, {r.code, r.stdout, r.stderr})
    end)
  end
end)

describe("a failing item", function()
  -- {what process does, the message after "failed: " (or a pattern of it)}
  local cases = {
    {"returns a function inside a table", "return {a = {b = print}}",
      "result.a.b: cannot transfer a function"},
    {"returns a cycle", "local t = {list = {1, 2}} t.list[3] = t return t",
      "result.list[3]: cannot transfer a cycle"},
    {"returns a coroutine", "return {co = coroutine.create(print)}",
      "result.co: cannot transfer a thread"},
    {"returns a file handle", "return {f = io.stdout}",
      pattern = "result%.f: cannot transfer [^\n]+"},
    {"returns NaN", "return {x = 0/0}", "result.x: cannot encode NaN"},
    {"returns NaN as the whole result", "return 0/0", "result: cannot encode NaN"},
    {"returns infinity", "return {1, math.huge}",
      pattern = "result%[2%]: cannot encode [^\n]+"},
    {"returns tables nested 10,000 deep",
      "local t = {} for i = 1, 10000 do t = {t} end return t",
      pattern = "result%[1%]%[1%][%[%]1]*[%.]*: [^\n]+"}, -- the path may end in "..."
    {"raises a string with error(msg, 0)", "error('plain', 0)", "plain", traceback = true},
    {"raises a number", "error(42)", "42", traceback = true},
    {"raises a table with __tostring",
      "error(setmetatable({}, {__tostring = function() return 'custom failure' end}))",
      "custom failure", traceback = true},
    {"raises a table without __tostring", "error({code = 1})",
      "(error object is a table value)", traceback = true},
    {"raises nil", "error(nil)", "(error object is a nil value)", traceback = true},
    {"raises a boolean", "error(true)", "(error object is a boolean value)", traceback = true},
    {"raises a table whose __tostring returns no string",
      "error(setmetatable({}, {__tostring = function() return 42 end}))",
      "(error object is a table value)", traceback = true},
    {"raises a table whose __tostring raises",
      "error(setmetatable({}, {__tostring = function() error('broken tostring', 0) end}))",
      pattern = "[^\n]*broken tostring\n"},
    {"calls os.exit", "os.exit(0)",
      pattern = "[^\n]*:2: os%.exit is not available in a luaworkq job[^\n]*\n", traceback = true},
    {"returns a function", "return print", "result: cannot transfer a function"},
    {"returns a table with a table as a key", "return {[{}] = 1}",
      pattern = "result[^\n]*: cannot transfer a table[^\n]*\n"},
  }

  for _, case in ipairs(cases) do
    it("that " .. case[1] .. ": exit 1 and the message", function()
      local r = testing.run{job_source = "function process(item)\n" .. case[2] .. "\nend\n",
                            items = {"a"}, args = {"-j", "1"}}
      assert.are.same({1, "[]\n"}, {r.code, r.stdout})
      local prefix = "luaworkq: item 1 (stdin:1) failed: "
      if case.pattern then
        assert.matches("^" .. prefix:gsub("%p", "%%%0") .. case.pattern, r.stderr)
      else
        assert.are.equal(prefix .. case[3], first_line(r.stderr))
      end
      if case.traceback then
        assert.matches("^[^\n]*\nstack traceback:\n", r.stderr)
      end
      assert.are.equal("luaworkq: 0 done, 1 failed", last_line(r.stderr))
    end)
  end
end)

describe("a failing process", function()
  local dir
  support.tmpdir_each(function(path) dir = path end)

  local JOB = [[
function process(item, index)
  if index == tonumber(luaworkq.args.fail) then
    error("bad item " .. item)
  end
  return tonumber(item)
end
]]

  local function numbers(from, to)
    local t = {}
    for i = from, to do t[#t + 1] = i .. "\n" end
    return table.concat(t)
  end

  -- Runs source as dir/job.lua over the items 1..n in dir/items.txt with
  -- args; returns the run and the paths of the job and the items.
  local function run_over(source, n, args)
    local job = testing.write_file(dir .. "/job.lua", source)
    local items = testing.write_file(dir .. "/items.txt", numbers(1, n))
    return testing.run{job = job, files = {items}, args = args}, job, items
  end

  it("stops the run: a report naming the item, file and line, a traceback, a summary",
    function()
      local r, job, items = run_over(JOB, 10, {"-j", "1", "--set", "fail=3"})
      assert.are.same({1, "[1,2]\n"}, {r.code, r.stdout})
      local report = ("luaworkq: item 3 (%s:3) failed: %s:3: bad item 3\nstack traceback:\n")
        :format(items, job)
      assert.are.equal(report, r.stderr:sub(1, #report))
      local traceback = r.stderr:sub(#report + 1)
      assert.truthy(traceback:find("\t" .. job .. ":3: in ", 1, true))
      assert.are.equal("luaworkq: stopped: 2 done, 1 failed, 7 not processed",
                       last_line(r.stderr))
    end)

  -- Item 3 fails only once items 1 and 2 have started, so they are running
  -- when the stop comes (and running items finish), whatever the threads.
  local AFTER_1_AND_2 = [[
local dir = luaworkq.args.dir
local function exists(name)
  local f = io.open(dir .. "/" .. name)
  if f then f:close() end
  return f ~= nil
end
function process(item, index)
  if index <= 2 then assert(io.open(dir .. "/started-" .. index, "w")):close() end
  if index == 3 then
    local deadline = os.time() + 60  -- a broken run still ends
    while not (exists("started-1") and exists("started-2")) and os.time() < deadline do end
    error("bad item " .. item)
  end
  return tonumber(item)
end
]]

  it("with -j4 leaves a well-formed JSON array of the results that finished",
    function()
      local r = run_over(AFTER_1_AND_2, 200, {"-j", "4", "--set", "dir=" .. dir})
      assert.are.equal(1, r.code)
      local results = assert(r.output, "stdout is not JSON: " .. r.stdout)
      assert.are.same({1, 2}, {results[1], results[2]})
      for i = 2, #results do assert.is_true(results[i] > results[i - 1]) end
      for _, v in ipairs(results) do assert.are_not.equal(3, v) end
      -- item 3 may fail after every other item ran (a slow thread): then
      -- the run is not called stopped, and nothing is left
      local line = last_line(r.stderr)
      local done, failed, rest = line:match(
        "^luaworkq: stopped: (%d+) done, (%d+) failed, (%d+) not processed$")
      if not done then
        done, failed = line:match("^luaworkq: (%d+) done, (%d+) failed$")
        rest = 0
      end
      assert.are.same({#results, 1, 200}, {tonumber(done), tonumber(failed),
                                           (tonumber(done) or 0) + (tonumber(failed) or 0) + rest},
                      line)
    end)

  -- Item 100 fails only once item 300 has run: the batches between them
  -- are done, and the rest of item 100's batch (it has ~20 items) is not
  -- run. The output must still be the in-order prefix -o promises: the
  -- results up to the first item not processed, without a gap.
  it("keeps the output an in-order prefix when later batches were done", function()
    local r = run_over(support.BUSY .. [[
local dir = luaworkq.args.dir
function process(item, index)
  busy(0.0001)
  if index == 300 then assert(io.open(dir .. "/ran-300", "w")):close() end
  if index == 100 then
    local deadline = os.time() + 60  -- a broken run still ends
    while os.time() < deadline do
      local f = io.open(dir .. "/ran-300")
      if f then f:close() break end
    end
    error("bad item " .. item)
  end
  return index
end
]], 400, {"-j", "2", "--set", "dir=" .. dir})
    assert.are.equal(1, r.code)
    local results = assert(r.output, "stdout is not JSON: " .. r.stdout)
    assert.is_true(#results >= 99 and #results < 399, #results .. " results")
    for i, v in ipairs(results) do
      assert.are.equal(i < 100 and i or i + 1, v)
    end
    -- Items run past the gap are not in it: they count as not processed.
    assert.are.equal(("luaworkq: stopped: %d done, 1 failed, %d not processed")
                       :format(#results, 399 - #results), last_line(r.stderr))
  end)

  it("in the second file names that file and its line", function()
    local job = testing.write_file(dir .. "/job.lua", JOB)
    local a = testing.write_file(dir .. "/a.txt", numbers(1, 2))
    local b = testing.write_file(dir .. "/b.txt", numbers(3, 5))
    local r = testing.run{job = job, files = {a, b},
                          args = {"-j", "1", "--set", "fail=4"}}
    assert.are.equal(1, r.code)
    assert.are.equal(("luaworkq: item 4 (%s:2) failed: %s:3: bad item 4"):format(b, job),
                     first_line(r.stderr))
  end)

  it("with -0 on stdin names the record number", function()
    local job = testing.write_file(dir .. "/job.lua", JOB)
    local r = testing.run{job = job, input = "1\0002\0003\0004\0",
                          args = {"-0", "-j", "1", "--set", "fail=3"}}
    assert.are.equal(1, r.code)
    assert.are.equal(("luaworkq: item 3 (stdin:3) failed: %s:3: bad item 3"):format(job),
                     first_line(r.stderr))
  end)

  it("with -k is reported and skipped, and the run goes on", function()
    local job = testing.write_file(dir .. "/job.lua", JOB)
    local r = testing.run{job = job, items = {"1", "2", "3", "4", "5"},
                          args = {"-k", "-j", "2", "--set", "fail=3"}}
    assert.are.same({1, "[1,2,4,5]\n"}, {r.code, r.stdout})
    assert.are.equal(("luaworkq: item 3 (stdin:3) failed: %s:3: bad item 3"):format(job),
                     first_line(r.stderr))
    assert.are.equal("luaworkq: 4 done, 1 failed", last_line(r.stderr))
  end)
end)

describe("a failing hook", function()
  -- {the hook, a job whose hook raises "boom in HOOK"}
  local cases = {
    {"setup", "function setup() error('boom in setup') end"},
    {"init", "function init() error('boom in init') end"},
    {"merge", "function merge(a, b) error('boom in merge') end"},
    {"finish", "function merge(a, b) return a end\nfunction finish() error('boom in finish') end"},
    {"shutdown", "function shutdown() error('boom in shutdown') end"},
  }
  for _, case in ipairs(cases) do
    it(case[1] .. " that raises an error: exit 1 and the message", function()
      local r = testing.run{job_source = GOOD .. case[2], items = {"a", "b", "c"},
                            args = {"-j", "2"}}
      assert.are.equal(1, r.code)
      assert.matches("^luaworkq: [^\n]*:%d+: boom in " .. case[1], r.stderr)
    end)
  end
end)
