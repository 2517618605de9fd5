-- --journal: a run killed at any moment, stopped by a failing item or left
-- with a torn journal resumes to the output of one uninterrupted run; a
-- journal of another job, other options or another input is refused.
local testing = require "luaworkq.testing"

-- Sanitizer builds run Lua several times slower: they get fewer items, but
-- the same cases, kills included.
local SLOW = (os.getenv("LUAWORKQ") or ""):match("san") ~= nil
local N = SLOW and 12000 or 80000
local JOBS = "2"
local FILE = {file = true}

local support = require "journal_support"
local tmpdir_each = require("support").tmpdir_each
local WORD_COUNT = require("support").WORD_COUNT
local COMMON, LIST_JOB, MERGE_JOB = support.COMMON, support.LIST_JOB, support.MERGE_JOB
local INDEX_JOB = support.INDEX_JOB
local size, first_line, same_bytes = support.size, support.first_line, support.same_bytes
local function corpus(path, n, tail) return support.corpus(path, n, tail, 4242) end

-- The --stats summary: {done, carried (from the journal), failed}.
local function summary(stderr)
  local done, carried, failed =
    stderr:match("luaworkq: (%d+) done %((%d+) from the journal%), (%d+) failed")
  if not done then
    done, failed = stderr:match("luaworkq: (%d+) done, (%d+) failed")
    carried = done and "0"
  end
  assert(done, "no summary in: " .. stderr)
  return {done = tonumber(done), carried = tonumber(carried), failed = tonumber(failed)}
end

-- How many items the workers of the last run processed, from their count
-- files (which this removes); nil for a job that does not count.
local function processed(dir)
  local total = 0
  for w = 1, tonumber(JOBS) do
    local path = ("%s/count-%d"):format(dir, w)
    local count = tonumber(testing.read_file(path))
    if not count then return nil end
    total = total + count
    os.remove(path)
  end
  return total
end

-- Whether a spawned run is still running.
local function alive(proc)
  return os.execute("kill -0 " .. proc.pid .. " 2>/dev/null") == true
end

-- A job in a fresh directory: paths, and runs of the same command line.
local function setup_job(dir, source, items, format)
  local files = type(items) == "table" and items or {items}
  local t = {dir = dir, job = testing.write_file(dir .. "/job.lua", source),
             items = files[1], files = files, journal = dir .. "/run.journal",
             format = format or "json"}
  -- Runs the command with the journal (unless nojournal); extra args go
  -- before the job. Returns run's result, with .count: items processed.
  -- With opts.file the output goes through -o to a file, read back as
  -- .stdout: large outputs are not decoded then.
  function t.run(extra, opts)
    opts = opts or {}
    local args = {"-j", JOBS, "-f", t.format, "--stats"}
    if not opts.nojournal then
      args[#args + 1] = "--journal"
      args[#args + 1] = opts.journal or t.journal
    end
    local out = dir .. "/out"
    if opts.file then
      os.remove(out)
      args[#args + 1] = "-o"
      args[#args + 1] = out
    end
    for _, a in ipairs(extra or {}) do args[#args + 1] = a end
    local r = testing.run{job = t.job, files = opts.items and {opts.items} or t.files, args = args,
                          env = {COUNT_DIR = dir}}
    if opts.file then
      assert.are.equal("", r.stdout)
      r.stdout = testing.read_file(out) or ""
    end
    if r.code ~= 2 then r.count = processed(dir) end
    return r
  end
  -- Starts the command with item `last` held, waits until the journal holds
  -- `bytes`, and kills it with SIGKILL (or `signal`).
  function t.kill_at(bytes, last, signal)
    local proc = testing.spawn{job = t.job, files = t.files,
      args = {"-j", JOBS, "-f", t.format, "--journal", t.journal},
      env = {HOLD = "1", LAST = tostring(last)}}
    testing.wait_for(function()
      return size(t.journal) >= bytes or not alive(proc)
    end, 30)
    local reached, running = size(t.journal), alive(proc)
    proc.kill(signal or "KILL")
    local r = proc.wait(30)
    assert(reached >= bytes, ("the journal held %d bytes, not %d, when the run was "
      .. "%s: %s"):format(reached, bytes, running and "killed" or "over", r.stderr))
    return r
  end
  return t
end

describe("a run killed with kill -9", function()
  local shared, items, refs = nil, nil, {}
  setup(function()
    shared = testing.tmpdir()
    items = {corpus(shared .. "/items.txt", N, 1)}
  end)
  teardown(function() testing.remove_tree(shared) end)

  local kinds = {
    {"a list job, -f json", LIST_JOB, "json"},
    {"a list job, -f ndjson", LIST_JOB, "ndjson"},
    {"a merge job", MERGE_JOB, "json"},
    {"an index (a merged value that grows)", INDEX_JOB, "json"},
    {"a keyed reduce", support.REDUCE_JOB, "json"},
  }

  -- The output of one uninterrupted run without a journal, and the size of
  -- a complete journal of the same run (whose output must be the same).
  local function reference(kind)
    if refs[kind[1]] then return refs[kind[1]] end
    local dir = testing.tmpdir()
    local t = setup_job(dir, kind[2], items, kind[3])
    local plain = t.run(nil, {nojournal = true, file = true})
    assert.are.same({0, N}, {plain.code, plain.count})
    local journaled = t.run(nil, {file = true})
    assert.are.same({0, N}, {journaled.code, journaled.count})
    same_bytes(plain.stdout, journaled.stdout)
    refs[kind[1]] = {stdout = plain.stdout, bytes = size(t.journal)}
    testing.remove_tree(dir)
    return refs[kind[1]]
  end

  -- Resumes t's run: it must give ref's bytes, carry at least `least` items
  -- from the journal and process only the others.
  local function resumes_whole(t, ref, least)
    local r = t.run(nil, FILE)
    assert.are.equal(0, r.code, r.stderr)
    same_bytes(ref.stdout, r.stdout)
    local s = summary(r.stderr)
    assert.is_true(s.carried >= least, s.carried .. " from the journal")
    assert.are.equal(N - s.carried, r.count)
  end

  local dir
  tmpdir_each(function(path) dir = path end)

  for _, kind in ipairs(kinds) do
    for _, moment in ipairs{{"early", 0.1}, {"half-way", 0.5}, {"late", 0.9}} do
      it(("%s: %s, resumes to the bytes of one run and runs only what was lost")
          :format(kind[1], moment[1]), function()
        local ref = reference(kind)
        local t = setup_job(dir, kind[2], items, kind[3])
        local killed = t.kill_at(math.floor(ref.bytes * moment[2]), N)
        assert.are.equal(137, killed.code)

        local r = t.run(nil, FILE)
        assert.are.equal(0, r.code, r.stderr)
        same_bytes(ref.stdout, r.stdout)
        local s = summary(r.stderr)
        assert.are.same({N, 0}, {s.done, s.failed})
        assert.is_true(s.carried >= math.floor(N * moment[2] * 0.8),
                       ("only %d of %d items came from the journal"):format(s.carried, N))
        assert.is_true(s.carried < N)
        assert.are.equal(N - s.carried, r.count)
        if kind[2] == MERGE_JOB then assert.matches('"in_order":true', r.stdout) end

        local again = t.run(nil, FILE)
        assert.are.same({0, 0}, {again.code, again.count})
        same_bytes(ref.stdout, again.stdout)
      end)
    end
  end

  it("twice, at a third and at two thirds, resumes from both segments", function()
    local kind = kinds[2]
    local ref = reference(kind)
    local t = setup_job(dir, kind[2], items, kind[3])
    assert.are.equal(137, t.kill_at(math.floor(ref.bytes / 3), N).code)
    assert.are.equal(137, t.kill_at(math.floor(ref.bytes * 2 / 3), N).code)
    resumes_whole(t, ref, math.floor(N * 0.5))
  end)

  it("stopped by SIGINT instead, resumes to the bytes of one run", function()
    local kind = kinds[1]
    local ref = reference(kind)
    local t = setup_job(dir, kind[2], items, kind[3])
    assert.are.equal(130, t.kill_at(math.floor(ref.bytes / 2), N, "INT").code)
    resumes_whole(t, ref, math.floor(N * 0.4))
  end)
end)

describe("a run stopped by a failing item", function()
  local dir
  tmpdir_each(function(path) dir = path end)

  -- The job requires a module beside it; the module has a bug for some
  -- items. Fixing the module, not the script, keeps the journal valid.
  local JOB = COMMON .. [[
local check = require "check"
function process(line, index)
  local h = work(index, #line)
  return {index, check.value(line, index), h}
end
]]
  local BUGGY = [[
return {value = function(line, index)
  if index % 1000 == 0 then error("cannot handle item " .. index) end
  return #line
end}
]]
  local FIXED = [[
return {value = function(line, index) return #line end}
]]
  local n = 20000

  local function fixture()
    local t = setup_job(dir, JOB, corpus(dir .. "/items.txt", n), "ndjson")
    testing.write_file(dir .. "/check.lua", BUGGY)
    return t
  end

  -- The output of one run with the fixed module, without a journal.
  local function fixed_output(t)
    testing.write_file(dir .. "/check.lua", FIXED)
    local r = t.run(nil, {nojournal = true})
    assert.are.equal(0, r.code)
    return r.stdout
  end

  it("resumes once the module is fixed: the bytes of one run, only the rest run again",
    function()
      local t = fixture()
      local first = t.run()
      assert.are.equal(1, first.code)
      -- The first failure in time is reported; with two workers it may be
      -- item 2000 rather than 1000.
      local k = first_line(first.stderr):match("^luaworkq: item (%d+) ")
      assert.are.equal(("luaworkq: item %s (%s:%s) failed: %s/check.lua:2: "
        .. "cannot handle item %s"):format(k, t.items, k, dir, k), first_line(first.stderr))
      local done = tonumber(first.stderr:match("\nluaworkq: stopped: (%d+) done, 1 failed"))
      assert(done, first.stderr)
      local expected = fixed_output(t)

      local r = t.run()
      assert.are.equal(0, r.code, r.stderr)
      same_bytes(expected, r.stdout)
      assert.are.same({done = n, carried = done, failed = 0}, summary(r.stderr))
      assert.are.equal(n - done, r.count)
    end)

  it("with -k: a rerun runs the failed items again, and only them, until they succeed",
    function()
      local t = fixture()
      local first = t.run{"-k"}
      assert.are.equal(1, first.code)
      assert.are.same({n - 20, 20, n}, {summary(first.stderr).done,
                                       summary(first.stderr).failed, first.count})

      local unfixed = t.run{"-k"}
      assert.are.same({1, 20}, {unfixed.code, unfixed.count})
      same_bytes(first.stdout, unfixed.stdout)
      assert.are.same({done = n - 20, carried = n - 20, failed = 20}, summary(unfixed.stderr))

      local expected = fixed_output(t)
      local r = t.run{"-k"}
      assert.are.same({0, 20}, {r.code, r.count})
      same_bytes(expected, r.stdout)
      assert.are.same({done = n, carried = n - 20, failed = 0}, summary(r.stderr))

      local again = t.run{"-k"}
      assert.are.same({0, 0}, {again.code, again.count})
      same_bytes(expected, again.stdout)
    end)
end)

describe("a torn journal", function()
  local dir, t, ref, complete
  local n = 3000
  setup(function()
    dir = testing.tmpdir()
    t = setup_job(dir, LIST_JOB, corpus(dir .. "/items.txt", n), "ndjson")
    local r = t.run(nil, {nojournal = true})
    ref = r.stdout
    local first = t.run()
    assert.are.equal(0, first.code, first.stderr)
    same_bytes(ref, first.stdout)
    complete = testing.read_file(t.journal)
  end)
  teardown(function() testing.remove_tree(dir) end)

  -- {what happened to the journal, how it is changed, items run again}
  local cases = {
    {"the end record torn (3 bytes cut off)", function(j) return j:sub(1, -4) end, 0},
    {"the last item record torn (20 bytes cut off: more than the end record, "
      .. "less than an item record)", function(j) return j:sub(1, -21) end, 1},
    {"half of it cut off", function(j) return j:sub(1, #j // 2) end, "some"},
    {"garbage appended", function(j) return j .. "garbage\n\1\2\3 after the end" end, 0},
    {"a length of 1 GiB and no body appended",
      function(j) return j .. "\0\0\0\64Rxyz" end, 0},
    {"zeros appended, as a crash may leave a file extended",
      function(j) return j .. ("\0"):rep(8192) end, 0},
    {"the last record torn and garbage after it",
      function(j) return j:sub(1, -21) .. ("\255"):rep(100) end, 1},
    {"a record in the middle flipped", function(j)
      local at = #j // 2
      return j:sub(1, at - 1) .. string.char(j:byte(at) ~ 1) .. j:sub(at + 1)
    end, "some"},
    {"only 10 bytes of its header (torn while it was created)",
      function(j) return j:sub(1, 10) end, n},
  }

  for _, case in ipairs(cases) do
    it("with " .. case[1] .. " resumes to the bytes of one run", function()
      local path = dir .. "/torn.journal"
      testing.write_file(path, case[2](complete))
      local r = t.run(nil, {journal = path})
      assert.are.equal(0, r.code, r.stderr)
      same_bytes(ref, r.stdout)
      local s = summary(r.stderr)
      assert.are.equal(n - s.carried, r.count)
      if case[3] == "some" then
        assert.is_true(r.count > 0 and r.count < n, r.count .. " run again")
      else
        assert.are.equal(case[3], r.count)
      end
      -- The torn tail was cut off, so what this run appended is read back.
      local again = t.run(nil, {journal = path})
      assert.are.same({0, 0}, {again.code, again.count})
      same_bytes(ref, again.stdout)
    end)
  end
end)

describe("a journal", function()
  local dir
  tmpdir_each(function(path) dir = path end)

  local SET_JOB = "function process(line) return (luaworkq.args.prefix or '') .. line end\n"

  local function completed(source, args)
    local t = setup_job(dir, source or SET_JOB, corpus(dir .. "/items.txt", 50))
    local r = t.run(args)
    assert.are.equal(0, r.code)
    return t, testing.read_file(t.journal)
  end

  -- {what the user does, args of the first run, args of the second, the
  -- message after "journal J was made "}
  local cases = {
    {"runs another format", {}, {"-f", "ndjson"},
      "with other options: format json (this run: format ndjson)"},
    {"changes a --set value", {"--set", "prefix=a"}, {"--set", "prefix=b"},
      "with other options: set prefix=a (this run: set prefix=b)"},
    {"adds -0", {}, {"-0"},
      "with other options: separator newline (this run: separator nul)"},
    {"adds --ndjson-in", {}, {"--ndjson-in"},
      "with other options: ndjson-in no (this run: ndjson-in yes)"},
    {"adds --shard", {}, {"--shard", "1/2"},
      "with other options: shard 1/1 (this run: shard 1/2)"},
  }
  for _, case in ipairs(cases) do
    it("is refused when the user " .. case[1] .. ": exit 2, the message, the journal untouched",
      function()
        local t, before = completed(nil, case[2])
        local r = t.run(case[3])
        assert.are.same({2, ""}, {r.code, r.stdout})
        assert.are.equal(("luaworkq: journal %s was made %s"):format(t.journal, case[4]),
                         first_line(r.stderr))
        assert.are.equal(before, testing.read_file(t.journal))
      end)
  end

  it("is refused when the user adds a --set: the message names the --set, not another option",
    function()
      local t = completed()
      support.refused_for_set(t.run{"--set", "prefix=a"}, "set prefix=a")
    end)

  it("of another job script is refused: exit 2, the message, the journal untouched", function()
    local t, before = completed()
    testing.write_file(t.job, SET_JOB .. "-- a comment is a change too\n")
    local r = t.run()
    assert.are.same({2, ""}, {r.code, r.stdout})
    assert.are.equal(("luaworkq: journal %s was made by another job script"):format(t.journal),
                     first_line(r.stderr))
    assert.are.equal(before, testing.read_file(t.journal))
  end)

  -- {what changed in the input, how, the index and line of the message}
  local changes = {
    {"a line in the middle", function(lines) lines[5] = lines[5] .. "!" end, 5},
    {"a line inserted at the top", function(lines) table.insert(lines, 1, "new") end, 1},
    {"the first line removed", function(lines) table.remove(lines, 1) end, 1},
  }
  for _, change in ipairs(changes) do
    it("of an input with " .. change[1] .. " is refused: exit 2 and the message", function()
      local t = completed()
      local lines = {}
      for line in testing.read_file(t.items):gmatch("([^\n]*)\n") do
        lines[#lines + 1] = line
      end
      change[2](lines)
      testing.write_file(t.items, table.concat(lines, "\n") .. "\n")
      local r = t.run()
      assert.are.equal(2, r.code)
      assert.are.equal(("luaworkq: item %d (%s:%d) differs from the one journal %s "
        .. "recorded: the input changed"):format(change[3], t.items, change[3], t.journal),
        first_line(r.stderr))
    end)
  end

  it("of a changed input is refused without replacing the -o file of the last run",
    function()
      local t = completed()
      local out = dir .. "/out.json"
      assert.are.equal(0, t.run{"-o", out}.code)
      local before = testing.read_file(out)
      testing.write_file(t.items, "changed\n" .. testing.read_file(t.items))
      local r = t.run{"-o", out}
      assert.are.equal(2, r.code)
      assert.are.equal(before, testing.read_file(out))
    end)

  it("resumes over the same items in a moved file: items are compared by content", function()
    local t = completed()
    local moved = dir .. "/moved.txt"
    assert(os.rename(t.items, moved))
    local r = t.run(nil, {items = moved})
    assert.are.equal(0, r.code)
    assert.are.same({done = 50, carried = 50, failed = 0}, summary(r.stderr))
  end)

  it("over an input that grew at the end runs only the new items", function()
    local t = completed()
    local f = assert(io.open(t.items, "ab"))
    f:write("one more\nand another\n")
    f:close()
    local r = t.run()
    local plain = t.run(nil, {nojournal = true})
    assert.are.same({0, plain.stdout}, {r.code, r.stdout})
    assert.are.same({done = 52, carried = 50, failed = 0}, summary(r.stderr))
  end)

  it("at a path that holds another file is refused, and the file is left as it was",
    function()
      local t = setup_job(dir, SET_JOB, corpus(dir .. "/items.txt", 5))
      local notes = testing.write_file(dir .. "/notes.txt", "my notes\nsecond line\n")
      local r = t.run(nil, {journal = notes})
      assert.are.equal(2, r.code)
      assert.matches("^luaworkq: [^\n]*notes%.txt[^\n]* not a luaworkq journal", r.stderr)
      assert.are.equal("my notes\nsecond line\n", testing.read_file(notes))
    end)

  it("cannot go with --unordered: exit 2 and a message", function()
    local t = setup_job(dir, SET_JOB, corpus(dir .. "/items.txt", 5))
    local r = t.run{"--unordered"}
    assert.are.same({2, ""}, {r.code, r.stdout})
    assert.are.equal("luaworkq: --journal keeps results in input order: it cannot go "
      .. "with --unordered", first_line(r.stderr))
    assert.are.equal(0, size(t.journal))
  end)

  it("of a word count over 100,000 short lines takes under 100 bytes an item", function()
    local n = SLOW and 30000 or 100000
    local t = setup_job(dir, WORD_COUNT, corpus(dir .. "/items.txt", n))
    local r = t.run()
    assert.are.equal(0, r.code)
    local per_item = size(t.journal) / n
    assert.is_true(per_item < 100, per_item .. " bytes an item")
  end)
end)

describe("a journal in use", function()
  it("is refused to a second run while the first holds it (exit 2)", function()
    local dir = testing.tmpdir()
    local journal = dir .. "/j"
    local job = testing.write_file(dir .. "/job.lua", [[
      function process(s)
        if s == "1" then
          assert(io.open(luaworkq.args.dir .. "/started", "w")):close()
          while true do end
        end
        return s
      end]])
    local first = testing.spawn{job = job, items = {"1", "2"},
                                args = {"-j", "1", "--journal", journal, "--set", "dir=" .. dir}}
    assert.truthy(testing.wait_for(dir .. "/started", 30))
    local second = testing.run{job = job, items = {"1", "2"},
                               args = {"-j", "1", "--journal", journal, "--set", "dir=" .. dir}}
    first.kill("INT")
    local r = first.wait(30)
    assert.are.equal(130, r.code)
    assert.are.equal(2, second.code)
    assert.are.equal("luaworkq: journal " .. journal .. " is in use by another run\n",
                     second.stderr)
    testing.remove_tree(dir)
  end)
end)
