-- The Slurm recipes of scripts/cluster on a real Slurm cluster: one node on
-- this machine, brought up by scripts/cluster/slurm-local (munged, slurmctld
-- and slurmd from Debian's packages, on 127.0.0.1) and shut down after.
-- Without root or those programs the spec says why and exits 77, which CTest
-- counts as skipped.
local testing = require "luaworkq.testing"
local support = require "journal_support"
local common = require "support"
local quote, size = testing.quote, support.size

-- Absolute paths: the recipes run in other folders.
local absolute = common.absolute
local SRC = absolute(common.SRC)
local BIN = absolute(assert(os.getenv("LUAWORKQ"), "set LUAWORKQ to BUILD/luaworkq"))
local CLUSTER = SRC .. "/scripts/cluster/"
local N, TASKS = 20000, 4

common.skip_unless("slurm_spec", "slurmd runs jobs as their users",
  {"munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "scontrol", "sinfo"})

local sh = common.sh

describe("the Slurm recipes on a one-node Slurm cluster", function()
  local dir, cluster, conf, whole

  setup(function()
    dir = testing.tmpdir()
    cluster = dir .. "/cluster"
    local code, out = sh(quote(CLUSTER .. "slurm-local") .. " up " .. quote(cluster))
    conf = out:match("SLURM_CONF=(%S+)")
    assert(code == 0 and conf, "slurm-local up failed; see " .. cluster)
    whole = support.whole_run(dir, N)
  end)

  teardown(function()
    if cluster then sh(quote(CLUSTER .. "slurm-local") .. " down " .. quote(cluster)) end
    testing.remove_tree(dir)
  end)

  -- A shell command run in the job's directory, with the cluster's
  -- SLURM_CONF, luaworkq and env (a table) in its environment: sbatch passes
  -- that environment on to the job.
  local function in_dir(cmd, env)
    local vars = {"SLURM_CONF=" .. quote(conf), "LUAWORKQ=" .. quote(BIN)}
    for k, v in pairs(env or {}) do vars[#vars + 1] = k .. "=" .. quote(v) end
    return ("cd %s && env %s %s"):format(quote(dir), table.concat(vars, " "), cmd)
  end

  -- Submits with sbatch; returns the job id. The recipes ask for 16 CPUs a
  -- task, more than this node may have: the command line overrides it.
  local function sbatch(args, env)
    local code, out = sh(in_dir("sbatch --parsable --cpus-per-task=1 " .. args, env))
    local id = out:match("^(%d+)")
    assert(code == 0 and id, "sbatch " .. args .. " failed: " .. out)
    return id
  end

  -- The state of each task of job `id` (an array's tasks, or the job), as
  -- {task = STATE}, the task being "" for a job that is no array.
  local function states(id)
    local _, out = sh(in_dir("scontrol -o show job " .. id .. " 2>/dev/null"))
    local t = {}
    for line in out:gmatch("[^\n]+") do
      local task = line:match("ArrayTaskId=(%d+)") or ""
      t[task] = line:match("JobState=(%u+)")
    end
    return t
  end

  local FINAL = {COMPLETED = true, FAILED = true, CANCELLED = true, TIMEOUT = true,
                 NODE_FAIL = true, OUT_OF_MEMORY = true}

  -- Waits until `done(states(id))` holds, polling every 0.1 s; returns the
  -- states then.
  local function wait_job(id, done, what)
    local last
    local ok = testing.wait_for(function()
      os.execute("sleep 0.1")
      last = states(id)
      return done(last)
    end, 60)
    local seen = {}
    for task, state in pairs(last) do seen[#seen + 1] = task .. "=" .. state end
    assert(ok, ("job %s: %s did not happen: %s"):format(id, what, table.concat(seen, " ")))
    return last
  end

  -- Waits until every task of job `id` has ended; returns their states.
  local function wait_ended(id)
    return wait_job(id, function(t)
      if next(t) == nil then return false end
      for _, state in pairs(t) do if not FINAL[state] then return false end end
      return true
    end, "the end of every task")
  end

  local function part(parts, k) return ("%s/%s/part-%d"):format(dir, parts, k) end

  local function array(parts, env)
    env = env or {}
    env.PARTS = parts
    return sbatch(("--array=1-%d %s job.lua items.txt -f ndjson")
      :format(TASKS, quote(CLUSTER .. "slurm.sbatch")), env)
  end

  local function merge(parts, dependency)
    local id = sbatch(("%s %s job.lua -f ndjson"):format(
      dependency and "--dependency=afterok:" .. dependency or "",
      quote(CLUSTER .. "merge.sbatch")), {PARTS = parts, OUT = parts .. ".json"})
    return id, wait_ended(id)[""]
  end

  local function merge_log(id)
    return testing.read_file(("%s/slurm-%s-merge.out"):format(dir, id))
  end

  it("slurm.sbatch as a 4-task array, merge.sbatch after it (afterok): the bytes of one run",
    function()
      local id = array("parts")
      local merged, state = merge("parts", id)
      assert.are.equal("COMPLETED", state, merge_log(merged))
      for k = 1, TASKS do assert.are.equal("COMPLETED", states(id)[tostring(k)]) end
      support.same_bytes(whole, testing.read_file(dir .. "/parts.json") or "")
    end)

  it("a task cancelled mid-run (scancel): merge.sbatch fails naming its part; resubmitted "
     .. "as the README says, it resumes from its journal, and the merge gives the bytes "
     .. "of one run", function()
      -- Task 2's last item never ends, so task 2 is running, its journal
      -- part-written, when it is cancelled.
      local last = 2
      while last + TASKS <= N do last = last + TASKS end
      local id = array("held", {HOLD = "1", LAST = tostring(last)})
      local p1, p2 = part("held", 1), part("held", 2)
      wait_job(id, function(t)
        return t["1"] == "COMPLETED" and t["2"] == "RUNNING" and size(p2) >= size(p1) // 4
      end, "task 1 done, task 2 running with a quarter of a journal")
      assert.are.equal(0, (sh(in_dir("scancel " .. id .. "_2"))))
      local ended = wait_ended(id)
      assert.are.same({"COMPLETED", "CANCELLED", "COMPLETED", "COMPLETED"},
                      {ended["1"], ended["2"], ended["3"], ended["4"]})

      local refused, state = merge("held")
      assert.are.equal("FAILED", state)
      assert.matches("luaworkq: held/part%-2: shard 2/4 did not finish; run it again",
                     merge_log(refused) or "")

      -- Resubmitted: it runs only what its journal lacks (COUNT_DIR gets the
      -- count of items processed).
      local counted = dir .. "/count"
      os.execute("mkdir -p " .. quote(counted))
      local again = sbatch(("--array=2 --export=ALL,SHARDS=%d %s job.lua items.txt -f ndjson")
        :format(TASKS, quote(CLUSTER .. "slurm.sbatch")), {PARTS = "held", COUNT_DIR = counted})
      assert.are.equal("COMPLETED", wait_ended(again)["2"])
      local processed = tonumber(testing.read_file(counted .. "/count-1"))
      assert.truthy(processed and processed > 0 and processed < N // TASKS,
        ("the resubmitted task processed %s of its %d items"):format(processed, N // TASKS))

      local merged, merged_state = merge("held")
      assert.are.equal("COMPLETED", merged_state, merge_log(merged))
      support.same_bytes(whole, testing.read_file(dir .. "/held.json") or "")
    end)
end)
