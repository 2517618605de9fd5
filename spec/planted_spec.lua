-- Outputs and symbolic links. In a sticky world-writable folder (such as
-- /tmp) another user may plant a link where a run will write; no output
-- (-o, --journal, --errors) follows a link there that is owned neither by
-- the user nor by the folder's owner, whatever fs.protected_symlinks says:
-- the run is refused with exit 2 before anything is written. No block
-- device is written through a link. -o over an existing file keeps its
-- mode and owner; over a link the rule allows it writes the link's target,
-- and the link stays a link.
local testing = require "luaworkq.testing"
local support = require "support"

local quote = testing.quote
local listdir, run_in, sh, output_of = support.listdir, support.run_in, support.sh,
  support.output_of

local JOB = "function process(s) return s end\n"
local ITEMS = "a\nb\n"
local RESULT = '["a","b"]\n'
local SECRET = "root's own\n"
local AS_NOBODY = "setpriv --reuid=65534 --regid=65534 --clear-groups "

-- Why the cases cannot run here, or nil: acting as another user needs root
-- and setpriv.
local function cannot_run()
  if not support.is_root() then return "not root (a link of another user needs root)" end
  if sh("command -v setpriv >/dev/null 2>&1") ~= 0 then return "setpriv is not installed" end
end

-- A folder for a case: job.lua and items.txt.
local function job_folder()
  local dir = testing.tmpdir()
  testing.write_file(dir .. "/job.lua", JOB)
  testing.write_file(dir .. "/items.txt", ITEMS)
  return dir
end

-- Runs the job over the items in dir with the options opts, the last of
-- which takes the path out.
local function run_job(dir, opts, out)
  local args = {table.unpack(opts)}
  for _, a in ipairs{out, "job.lua", "items.txt"} do args[#args + 1] = a end
  return run_in(dir, args)
end

-- Runs the job in dir with -o out: it must succeed quietly and write the
-- results to the file target (dir/out itself when not given).
local function o_writes(dir, out, target)
  local code, stderr = run_job(dir, {"-o"}, out)
  assert.are.same({0, ""}, {code, stderr})
  assert.are.equal(RESULT, testing.read_file(target or dir .. "/" .. out))
end

-- A folder for a case, open to others: job.lua, items.txt, root's file
-- secret.txt (mode 0600), and pub/, sticky and world-writable like /tmp.
local function folder()
  local dir = job_folder()
  testing.write_file(dir .. "/secret.txt", SECRET)
  assert(sh(("chmod 755 %s && chmod 600 %s && mkdir -m 1777 %s"):format(
    quote(dir), quote(dir .. "/secret.txt"), quote(dir .. "/pub"))) == 0)
  return dir
end

-- Makes the symbolic link `link` to target as uid 65534.
local function plant(target, link)
  assert(sh(AS_NOBODY .. "ln -s " .. quote(target) .. " " .. quote(link)) == 0)
end

local function stat(format, path)
  return output_of("stat -c " .. quote(format) .. " " .. quote(path))
end

-- A loop device over dir/disk.img, 64 KiB of byte, detached and dir removed
-- when the test ends; nil (dir removed) when no loop device is free.
local function loop_device(dir, byte)
  local image = testing.write_file(dir .. "/disk.img", byte:rep(65536))
  local device = output_of("losetup -f --show " .. quote(image))
  if not device or device == "" then
    testing.remove_tree(dir)
    return nil
  end
  finally(function()
    os.execute("losetup -d " .. quote(device))
    testing.remove_tree(dir)
  end)
  return device
end

local function refusal(role, link, folder_name)
  return ("luaworkq: refusing %s %s: it is a symbolic link of uid 65534 in the sticky \z
           world-writable folder %s, owned neither by you nor by the folder's owner: \z
           another user may have planted it, so it is not followed (the kernel's \z
           protected_symlinks rule)\n"):format(role, link, folder_name)
end

describe("a link another user planted in a sticky world-writable folder", function()
  -- {what the user does, the options before the link, where the link points
  -- (relative to the case's folder), whether that file exists}
  local cases = {
    {"-o onto root's file", {"-o"}, "secret.txt", true},
    {"--journal onto a file not yet there", {"--journal"}, "made.journal", false},
    {"-k --errors onto a file not yet there", {"-k", "--errors"}, "made.ndjson", false},
    {"-k --errors onto root's file", {"-k", "--errors"}, "secret.txt", true},
  }
  for _, case in ipairs(cases) do
    it("is not followed by " .. case[1] .. ": exit 2, nothing written", function()
      local why = cannot_run()
      if why then return pending(why) end
      local dir = folder()
      plant(dir .. "/" .. case[3], dir .. "/pub/link")
      local before = listdir(dir)
      local code, stderr = run_job(dir, case[2], "pub/link")
      assert.are.same({2, refusal(case[2][#case[2]], "pub/link", "pub")}, {code, stderr})
      assert.are.same(before, listdir(dir))
      assert.are.same({"link"}, listdir(dir .. "/pub"))
      assert.are.equal("symbolic link 65534", stat("%F %u", dir .. "/pub/link"))
      if case[4] then
        assert.are.equal(SECRET, testing.read_file(dir .. "/" .. case[3]))
      end
      testing.remove_tree(dir)
    end)
  end

  it("is not followed by -o onto a block device: exit 2, the device unchanged", function()
    local why = cannot_run()
    if not why and sh("command -v losetup >/dev/null 2>&1") ~= 0 then
      why = "losetup is not installed"
    end
    if why then return pending(why) end
    local dir = folder()
    local device = loop_device(dir, "\xA5")
    if not device then return pending("losetup -f --show found no free loop device") end
    plant(device, dir .. "/pub/disk")
    local code, stderr = run_job(dir, {"-o"}, "pub/disk")
    assert.are.same({2, refusal("-o", "pub/disk", "pub")}, {code, stderr})
    assert.are.equal(("\xA5"):rep(65536), testing.read_file(device))
  end)

  it("of the folder's owner is followed: -o writes its target", function()
    local why = cannot_run()
    if why then return pending(why) end
    local dir = folder()
    assert(sh("chown 65534 " .. quote(dir .. "/pub")) == 0)
    testing.write_file(dir .. "/theirs.json", "old\n")
    plant(dir .. "/theirs.json", dir .. "/pub/link")
    o_writes(dir, "pub/link", dir .. "/theirs.json")
    assert.are.equal("symbolic link", stat("%F", dir .. "/pub/link"))
    testing.remove_tree(dir)
  end)
end)

describe("a link of the user's own", function()
  it("to a block device is not written through by -o: exit 2", function()
    if sh("command -v losetup >/dev/null 2>&1") ~= 0 then
      return pending("losetup is not installed")
    end
    if not support.is_root() then return pending("not root (losetup needs root)") end
    local dir = folder()
    local device = loop_device(dir, "\x5A")
    if not device then return pending("losetup -f --show found no free loop device") end
    assert(sh("ln -s " .. quote(device) .. " " .. quote(dir .. "/disk")) == 0)
    local code, stderr = run_job(dir, {"-o"}, "disk")
    assert.are.same({2, "luaworkq: refusing -o disk: it is a symbolic link to the block \z
                         device " .. device .. ", which is never written through a link \z
                         (name the device itself)\n"}, {code, stderr})
    assert.are.equal(("\x5A"):rep(65536), testing.read_file(device))
  end)

  -- {the option, what it writes}
  local outputs = {
    {{"-o"}, RESULT},
    {{"-k", "--errors"}, ""},
  }
  for _, case in ipairs(outputs) do
    local option = case[1][#case[1]]
    it("is followed by " .. option .. ": its target gets the content, the link stays",
       function()
      local dir = job_folder()
      assert(sh("mkdir " .. quote(dir .. "/real")) == 0)
      testing.write_file(dir .. "/real/out", "old\n")
      assert(sh("ln -s real/out " .. quote(dir .. "/out")) == 0)
      local code, stderr = run_job(dir, case[1], "out")
      assert.are.same({0, ""}, {code, stderr})
      assert.are.equal(case[2], testing.read_file(dir .. "/real/out"))
      assert.are.equal("real/out", output_of("readlink " .. quote(dir .. "/out")))
      assert.are.same({"out"}, listdir(dir .. "/real"))
      testing.remove_tree(dir)
    end)
  end
end)

describe("-o over an existing file", function()
  it("keeps its mode 0600", function()
    local dir = job_folder()
    testing.write_file(dir .. "/out.json", "old\n")
    assert(sh("chmod 600 " .. quote(dir .. "/out.json")) == 0)
    o_writes(dir, "out.json")
    assert.are.equal("600", stat("%a", dir .. "/out.json"))
    testing.remove_tree(dir)
  end)

  it("keeps its owner and group, as root, for a file of uid 65534", function()
    if not support.is_root() then return pending("not root (chown needs root)") end
    local dir = job_folder()
    testing.write_file(dir .. "/out.json", "old\n")
    assert(sh(("chown 65534:65534 %s && chmod 640 %s"):format(
      quote(dir .. "/out.json"), quote(dir .. "/out.json"))) == 0)
    o_writes(dir, "out.json")
    assert.are.equal("65534 65534 640", stat("%u %g %a", dir .. "/out.json"))
    testing.remove_tree(dir)
  end)
end)
