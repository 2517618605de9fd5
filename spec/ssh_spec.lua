-- scripts/cluster/parallel-sshlogin.sh over real ssh logins: an sshd of the
-- spec's own on 127.0.0.1 (a throwaway host key, user key and port), and two
-- "hosts" that are two ssh aliases of it. Without root or the programs the
-- spec says why and exits 77, which CTest counts as skipped.
local testing = require "luaworkq.testing"
local support = require "journal_support"
local common = require "support"
local quote = testing.quote

-- Absolute paths: the recipes run in other folders.
local absolute = common.absolute
local SRC = absolute(common.SRC)
local BIN = absolute(assert(os.getenv("LUAWORKQ"), "set LUAWORKQ to BUILD/luaworkq"))
local SSHD = "/usr/sbin/sshd"  -- sshd must be started by its absolute path
local N = 20000

local sh = common.sh

common.skip_unless("ssh_spec", "sshd needs root to log users in",
  {SSHD, "ssh", "ssh-keygen", "parallel"})

-- The first port from `port` on that nothing listens on at 127.0.0.1.
local function free_port(port)
  while sh(("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%d' 2>/dev/null"):format(port)) == 0 do
    port = port + 1
  end
  return port
end

-- Writes the keys and both configurations into dir, starts sshd; returns
-- the path of the ssh client configuration.
local function start_sshd(dir)
  local port = free_port(22622)
  for _, key in ipairs{"host_key", "id"} do
    assert(sh(("ssh-keygen -q -t ed25519 -N '' -f %s"):format(quote(dir .. "/" .. key))) == 0)
  end
  local user_key, host_key = testing.read_file(dir .. "/id.pub"),
                             testing.read_file(dir .. "/host_key.pub")
  testing.write_file(dir .. "/authorized_keys", user_key)
  testing.write_file(dir .. "/known_hosts", ("[127.0.0.1]:%d %s"):format(port, host_key))
  testing.write_file(dir .. "/sshd_config", table.concat({
    "Port " .. port, "ListenAddress 127.0.0.1",
    "HostKey " .. dir .. "/host_key", "PidFile " .. dir .. "/sshd.pid",
    "AuthorizedKeysFile " .. dir .. "/authorized_keys",
    "PermitRootLogin prohibit-password", "PasswordAuthentication no",
    "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
    "LogLevel INFO", ""}, "\n"))
  testing.write_file(dir .. "/ssh_config", table.concat({
    "Host node-a node-b", "  HostName 127.0.0.1", "  Port " .. port, "  User root",
    "  IdentityFile " .. dir .. "/id", "  IdentitiesOnly yes",
    "  UserKnownHostsFile " .. dir .. "/known_hosts", "  StrictHostKeyChecking yes",
    "  BatchMode yes", "  LogLevel ERROR", ""}, "\n"))
  -- sshd's privilege separation folder, which the package's service makes.
  os.execute("mkdir -p -m 755 /run/sshd")
  local code = sh(("%s -f %s -E %s"):format(SSHD, quote(dir .. "/sshd_config"),
                                             quote(dir .. "/sshd.log")))
  -- sshd writes its pid file once it listens.
  assert(code == 0 and testing.wait_for(dir .. "/sshd.pid", 30),
         "sshd did not start: " .. (testing.read_file(dir .. "/sshd.log") or ""))
  return dir .. "/ssh_config"
end

describe("parallel-sshlogin.sh over ssh to 127.0.0.1", function()
  local dir, keys, config, whole

  setup(function()
    dir = testing.tmpdir()
    keys = dir .. "/ssh"
    os.execute("mkdir -m 700 " .. quote(keys))
    config = start_sshd(keys)
    whole = support.whole_run(dir, N)
  end)

  teardown(function()
    local pid = testing.read_file(keys .. "/sshd.pid")
    if pid and pid:match("^%d+") then os.execute("kill " .. pid:match("^%d+")) end
    testing.remove_tree(dir)
  end)

  it("logs in as two hosts to run 3 shards, then merges: the bytes of one run",
    function()
      local ssh = quote("ssh -F " .. config)
      -- $PARALLEL adds options to GNU parallel's: a log of the jobs' hosts.
      local code = sh(("cd %s && PARALLEL_SSH=%s PARALLEL=%s LUAWORKQ=%s bash %s "
        .. "node-a,node-b 3 job.lua items.txt -f ndjson >merged 2>err")
        :format(quote(dir), ssh, quote("--joblog " .. dir .. "/joblog"), quote(BIN),
                quote(SRC .. "/scripts/cluster/parallel-sshlogin.sh")))
      assert.are.equal(0, code, testing.read_file(dir .. "/err"))
      support.same_bytes(whole, testing.read_file(dir .. "/merged") or "")

      local hosts, logins = {}, 0
      for host in testing.read_file(dir .. "/joblog"):gmatch("\n%d+\t(%S+)") do
        hosts[host] = true
      end
      for _ in testing.read_file(keys .. "/sshd.log"):gmatch("Accepted publickey for root") do
        logins = logins + 1
      end
      assert.are.same({["node-a"] = true, ["node-b"] = true}, hosts)
      assert.truthy(logins >= 3, ("%d ssh logins for 3 shards"):format(logins))
    end)
end)
