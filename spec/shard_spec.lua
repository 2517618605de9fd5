-- --shard K/N and --merge: N shards, each with its journal, merged into the
-- output of one run; parts that do not make a whole are refused; the recipes
-- of scripts/cluster/ run as they are.
local testing = require "luaworkq.testing"

local SLOW = (os.getenv("LUAWORKQ") or ""):match("san") ~= nil
local N = SLOW and 6000 or 30000
local SRC = require("support").SRC
local quote = testing.quote

local support = require "journal_support"
local LIST_JOB, MERGE_JOB, INDEX_JOB = support.LIST_JOB, support.MERGE_JOB, support.INDEX_JOB
local corpus, size, first_line, same_bytes =
  support.corpus, support.size, support.first_line, support.same_bytes

local sh = require("support").sh
local tmpdir_each = require("support").tmpdir_each

-- The last index of shard k of n over count items.
local function last_of_shard(k, n, count)
  local last = k
  while last + n <= count do last = last + n end
  return last
end

-- Waits until the journal holds `bytes`, then kills the spawned run with
-- SIGKILL. The input must be large enough that the held last item is not in
-- the same batch as the items before `bytes` (cheap items travel in batches
-- of hundreds): a held batch is never journaled.
local function kill_when(proc, journal, bytes)
  local function alive()
    return os.execute("kill -0 " .. proc.pid .. " 2>/dev/null") == true
  end
  testing.wait_for(function() return size(journal) >= bytes or not alive() end, 30)
  local reached, running = size(journal), alive()
  proc.kill("KILL")
  local r = proc.wait(30)
  assert(reached >= bytes, ("%s held %d bytes, not %d, when the run was %s: %s")
    :format(journal, reached, bytes, running and "killed" or "over", r.stderr))
  assert.are.equal(137, r.code)
end

-- A job in a fresh directory, run whole or as shards of it.
local function setup_job(dir, source, items, format)
  local files = type(items) == "table" and items or {items}
  local t = {dir = dir, job = testing.write_file(dir .. "/job.lua", source),
             items = files[1], files = files, format = format or "json"}
  function t.part(k) return ("%s/part-%d"):format(dir, k) end

  -- Runs luaworkq with -f FORMAT, args and the job, output to a file read
  -- back as .stdout (large outputs are not decoded then).
  local function run(args, files, env)
    local out = dir .. "/out"
    os.remove(out)
    local all = {"-j", "2", "-f", t.format, "-o", out}
    for _, a in ipairs(args) do all[#all + 1] = a end
    local r = testing.run{job = t.job, files = files, args = all, env = env}
    assert.are.equal("", r.stdout)
    r.stdout = testing.read_file(out) or ""
    return r
  end

  function t.whole(args, env) return run(args or {}, t.files, env) end
  -- Shard k of n; opts.args, opts.env, opts.items (another input),
  -- opts.fresh (a new journal).
  function t.shard(k, n, opts)
    opts = opts or {}
    if opts.fresh then os.remove(t.part(k)) end
    local args = {"--shard", k .. "/" .. n, "--journal", t.part(k)}
    for _, a in ipairs(opts.args or {}) do args[#args + 1] = a end
    return run(args, opts.items and {opts.items} or t.files, opts.env)
  end
  -- Merges parts (shard numbers, or paths).
  function t.merge(parts, args)
    local all = {"--merge"}
    for _, a in ipairs(args or {}) do all[#all + 1] = a end
    local files = {}
    for i, p in ipairs(parts) do files[i] = type(p) == "number" and t.part(p) or p end
    return run(all, files)
  end
  -- Starts shard k of n with its last item held, waits until its journal
  -- holds `bytes`, and kills it with SIGKILL.
  function t.kill_shard(k, n, bytes)
    local proc = testing.spawn{job = t.job, files = t.files,
      args = {"-j", "2", "-f", t.format, "--shard", k .. "/" .. n, "--journal", t.part(k)},
      env = {HOLD = "1", LAST = tostring(last_of_shard(k, n, N))}}
    kill_when(proc, t.part(k), bytes)
  end
  return t
end

describe("three shards merged", function()
  local shared, items
  setup(function()
    shared = testing.tmpdir()
    items = {corpus(shared .. "/items.txt", N, 3)}
  end)
  teardown(function() testing.remove_tree(shared) end)
  local dir
  tmpdir_each(function(path) dir = path end)

  local kinds = {
    {"a list job, -f json", LIST_JOB, "json"},
    {"a list job, -f ndjson", LIST_JOB, "ndjson"},
    {"a merge job (word count)", MERGE_JOB, "json"},
    {"a merge job (an index that grows with the input)", INDEX_JOB, "json"},
  }
  for _, kind in ipairs(kinds) do
    it(("give the bytes of one run: %s"):format(kind[1]), function()
      local t = setup_job(dir, kind[2], items, kind[3])
      local whole = t.whole()
      assert.are.equal(0, whole.code)
      for k = 1, 3 do assert.are.equal(0, t.shard(k, 3).code) end
      for _, order in ipairs{{1, 2, 3}, {3, 1, 2}} do
        local r = t.merge(order)
        assert.are.same({0, ""}, {r.code, r.stderr})
        same_bytes(whole.stdout, r.stdout)
      end
      if kind[2] == MERGE_JOB then assert.matches('"in_order":true', whole.stdout) end
    end)
  end

  it("shard 2/3 runs items 2, 5, 8 ... and names them by the whole input's index and line",
    function()
      local items = testing.write_file(dir .. "/ten.txt", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n")
      local t = setup_job(dir, "function process(line, index)\n"
        .. "  if line == 'h' then error('no h') end\n  return index .. line\nend\n", items)
      local r = t.shard(2, 3, {args = {"-k"}})
      assert.are.equal(1, r.code)
      assert.are.equal('["2b","5e"]\n', r.stdout)
      assert.are.equal(("luaworkq: item 8 (%s:8) failed: %s:2: no h"):format(items, t.job),
                       first_line(r.stderr))
    end)

  it("after one shard was killed with kill -9 and run again", function()
    local t = setup_job(dir, LIST_JOB, items, "ndjson")
    local whole = t.whole()
    assert.are.equal(0, t.shard(1, 3).code)
    assert.are.equal(0, t.shard(3, 3).code)
    t.kill_shard(2, 3, size(t.part(1)) // 2)
    local refused = t.merge{1, 2, 3}
    assert.are.same({2, ""}, {refused.code, refused.stdout})
    assert.are.equal(("luaworkq: %s: shard 2/3 did not finish; run it again with its "
      .. "journal to complete it"):format(t.part(2)), first_line(refused.stderr))

    local resumed = t.shard(2, 3, {args = {"--stats"}})
    assert.are.equal(0, resumed.code)
    local done, carried = resumed.stderr:match("(%d+) done %((%d+) from the journal%)")
    assert.is_true(tonumber(carried) > 0 and tonumber(carried) < tonumber(done),
                   resumed.stderr)
    local r = t.merge{1, 2, 3}
    assert.are.equal(0, r.code, r.stderr)
    same_bytes(whole.stdout, r.stdout)
  end)

  it("with failures a shard kept going over (-k): exit 1, the failures reported, "
    .. "the bytes of one run with -k", function()
    local t = setup_job(dir, LIST_JOB, items, "json")
    local env = {FAIL = "5"}
    local whole = t.whole({"-k"}, env)
    assert.are.equal(1, whole.code)
    assert.are.equal(0, t.shard(1, 3, {args = {"-k"}}).code)
    assert.are.equal(1, t.shard(2, 3, {args = {"-k"}, env = env}).code)
    assert.are.equal(0, t.shard(3, 3, {args = {"-k"}}).code)
    local r = t.merge({1, 2, 3}, {"-k"})
    assert.are.equal(1, r.code)
    same_bytes(whole.stdout, r.stdout)
    assert.are.equal(("luaworkq: item 5 (shard 2/3) failed: %s:8: bad item 5"):format(t.job),
                     first_line(r.stderr))
    assert.matches("\nluaworkq: 1 of " .. N .. " items failed\n$", r.stderr)

    -- The failing item runs again when the shard is run again.
    assert.are.equal(0, t.shard(2, 3, {args = {"-k"}}).code)
    local fixed = t.merge({1, 2, 3}, {"-k"})
    assert.are.same({0, ""}, {fixed.code, fixed.stderr})
    same_bytes(t.whole().stdout, fixed.stdout)
  end)
end)

describe("a merge", function()
  local dir, t
  before_each(function()
    dir = testing.tmpdir()
    t = setup_job(dir, LIST_JOB, corpus(dir .. "/items.txt", 100))
    for k = 1, 3 do assert.are.equal(0, t.shard(k, 3).code) end
  end)
  after_each(function() testing.remove_tree(dir) end)

  -- {what the user does, how (given t; returns the parts and the merge's
  -- args), the first line of stderr ($1, $2 ... stand for parts)}
  local cases = {
    {"leaves a shard out", function() return {1, 3} end,
      "luaworkq: $1 is shard 1 of 3, but 2 journals were given"},
    {"gives one shard twice", function()
      local copy = dir .. "/copy-of-part-1"
      testing.write_file(copy, testing.read_file(t.part(1)))
      return {1, copy, 2}
    end, "luaworkq: $1 and $2 are both shard 1/3"},
    {"gives a part of another job script", function()
      testing.write_file(t.job, LIST_JOB .. "-- changed\n")
      assert.are.equal(0, t.shard(2, 3, {fresh = true}).code)
      testing.write_file(t.job, LIST_JOB)
      return {1, 2, 3}
    end, "luaworkq: journal $2 was made by another job script"},
    {"merges with another -f than the shards", function()
      return {1, 2, 3}, {"-f", "ndjson"}
    end, "luaworkq: journal $1 was made with other options: format json "
      .. "(this run: format ndjson)"},
    {"gives a part run over a longer input", function()
      local longer = corpus(dir .. "/longer.txt", 101)
      assert.are.equal(0, t.shard(3, 3, {items = longer, fresh = true}).code)
      return {1, 2, 3}
    end, "luaworkq: $3 saw 101 items, $1 saw 100: not the same input"},
    {"gives a part run over other items, as many", function()
      local other = corpus(dir .. "/other.txt", 100)
      testing.write_file(other, (testing.read_file(other):gsub("^[^\n]*", "zulu")))
      assert.are.equal(0, t.shard(3, 3, {items = other, fresh = true}).code)
      return {1, 2, 3}
    end, "luaworkq: $3 and $1 read different items: not the same input"},
    {"gives a shard stopped by a failing item", function()
      assert.are.equal(1, t.shard(2, 3, {env = {FAIL = "5"}, fresh = true}).code)
      return {1, 2, 3}
    end, "luaworkq: $2: shard 2/3 did not finish; run it again with its journal "
      .. "to complete it"},
    {"gives the journal of a run that was not sharded", function()
      local whole = dir .. "/whole.journal"
      assert.are.equal(0, t.whole{"--journal", whole}.code)
      return {whole, 2, 3}
    end, "luaworkq: $1 is shard 1 of 1, but 3 journals were given"},
    {"gives the items instead of a part", function()
      return {t.items, 2, 3}
    end, "luaworkq: $1 is not a luaworkq journal"},
    {"gives a part that does not exist", function()
      return {1, 2, dir .. "/part-9"}
    end, "luaworkq: cannot open journal $3: No such file or directory"},
  }
  for _, case in ipairs(cases) do
    it("is refused when the user " .. case[1] .. ": exit 2 and the message", function()
      local parts, args = case[2]()
      local r = t.merge(parts, args)
      assert.are.same({2, ""}, {r.code, r.stdout})
      local paths = {}
      for i, p in ipairs(parts) do paths[i] = type(p) == "number" and t.part(p) or p end
      local expected = case[3]:gsub("%$(%d)", function(i) return paths[tonumber(i)] end)
      assert.are.equal(expected, first_line(r.stderr))
    end)
  end

  -- A --set on one side only: the message names it, not another option.
  local sets = {
    {"gives a part made with a --set the merge lacks", {}, {"--set", "x=1"}},
    {"adds a --set the shards lacked", {"--set", "x=1"}, {}},
  }
  for _, case in ipairs(sets) do
    it("is refused when the user " .. case[1] .. ": exit 2, a message naming the --set",
      function()
        for k = 1, 3 do
          assert.are.equal(0, t.shard(k, 3, {args = case[3], fresh = true}).code)
        end
        support.refused_for_set(t.merge({1, 2, 3}, case[2]), "set x=1")
      end)
  end
end)

describe("the recipes of scripts/cluster", function()
  local dir, t, whole
  before_each(function()
    dir = testing.tmpdir()
    t = setup_job(dir, LIST_JOB, corpus(dir .. "/items.txt", N), "ndjson")
    whole = t.whole()
    assert.are.equal(0, whole.code)
  end)
  after_each(function() testing.remove_tree(dir) end)

  local function lw() return os.getenv("LUAWORKQ") or "luaworkq" end
  local function in_dir(cmd) return "cd " .. quote(dir) .. " && " .. cmd end

  it("GNU parallel runs three local shards, then --merge gives the bytes of one run",
    function()
      local code = sh(in_dir("parallel --will-cite " .. quote(lw())
        .. " -f ndjson --shard {}/3 --journal part-{} job.lua items.txt '>' /dev/null"
        .. " ::: 1 2 3"))
      assert.are.equal(0, code)
      local r = t.merge({1, 2, 3})
      assert.are.equal(0, r.code, r.stderr)
      same_bytes(whole.stdout, r.stdout)
    end)

  it("parallel-sshlogin.sh over this machine (:) writes the bytes of one run", function()
    local code = sh(in_dir("LUAWORKQ=" .. quote(lw()) .. " bash "
      .. quote(SRC .. "/scripts/cluster/parallel-sshlogin.sh")
      .. " : 3 job.lua items.txt -f ndjson >merged 2>err"))
    assert.are.equal(0, code, testing.read_file(dir .. "/err"))
    same_bytes(whole.stdout, testing.read_file(dir .. "/merged") or "")
  end)

  it("slurm.sbatch as array tasks 1-3 (task 2 killed and requeued), then merge.sbatch",
    function()
      local parts = dir .. "/parts"
      local function task(k, extra)
        local env = {SLURM_ARRAY_TASK_ID = tostring(k), SLURM_ARRAY_TASK_COUNT = "3",
                     LUAWORKQ = lw(), PARTS = parts}
        for name, v in pairs(extra or {}) do env[name] = v end
        return {bin = "bash", args = {SRC .. "/scripts/cluster/slurm.sbatch", t.job,
                                      t.items, "-f", "ndjson"}, env = env}
      end
      for _, k in ipairs{1, 3} do
        local r = testing.run(task(k))
        assert.are.same({0, ""}, {r.code, r.stdout}, r.stderr)
      end
      -- Task 2 dies a quarter of the way, as on a failing node; Slurm
      -- requeues it. (slurm.sbatch takes one items file, so the held item
      -- shares a batch with others: a list job's batches are a few
      -- thousand items at most.)
      local proc = testing.spawn(task(2, {HOLD = "1", LAST = tostring(last_of_shard(2, 3, N))}))
      kill_when(proc, parts .. "/part-2", size(parts .. "/part-1") // 4)
      local requeued = testing.run(task(2))
      assert.are.equal(0, requeued.code, requeued.stderr)

      local r = testing.run{bin = "bash", args = {SRC .. "/scripts/cluster/merge.sbatch",
        t.job, "-f", "ndjson"}, env = {OUT = dir .. "/merged", PARTS = parts, LUAWORKQ = lw()}}
      assert.are.same({0, ""}, {r.code, r.stderr})
      same_bytes(whole.stdout, testing.read_file(dir .. "/merged") or "")
    end)

  it("k8s-indexed-job.yaml's command as pods 0-2, then k8s-merge-job.yaml's", function()
    local has_yaml, yaml = pcall(require, "lyaml")
    if not has_yaml then return pending("lyaml is not installed") end
    local function command(file)
      for _, doc in ipairs(yaml.load(testing.read_file(SRC .. "/scripts/cluster/" .. file),
                                     {all = true})) do
        if doc.kind == "Job" then
          local c = doc.spec.template.spec.containers[1]
          assert.are.same({"sh", "-c"}, {c.command[1], c.command[2]})
          return c.command[3], c
        end
      end
    end
    -- luaworkq on the PATH, as in the image.
    local bin = dir .. "/bin"
    os.execute("mkdir -p " .. quote(bin) .. " && ln -s " .. quote(lw()) .. " "
      .. quote(bin .. "/luaworkq"))
    local path = "PATH=" .. quote(bin .. ":" .. os.getenv("PATH"))
    local shards, container = command("k8s-indexed-job.yaml")
    assert.are.equal("/data", container.workingDir)
    for index = 0, 2 do
      local code = sh(in_dir(("%s JOB_COMPLETION_INDEX=%d SHARDS=3 CPUS=2 "
        .. "OPTIONS='-f ndjson' sh -c %s 2>>err"):format(path, index, quote(shards))))
      assert.are.equal(0, code, testing.read_file(dir .. "/err"))
    end
    local merge = command("k8s-merge-job.yaml")
    local code = sh(in_dir(("%s OPTIONS='-f ndjson' sh -c %s 2>>err")
      :format(path, quote(merge))))
    assert.are.equal(0, code, testing.read_file(dir .. "/err"))
    same_bytes(whole.stdout, testing.read_file(dir .. "/out.json") or "")
  end)
end)
