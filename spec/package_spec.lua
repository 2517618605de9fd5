-- `cpack -G DEB` in the build tree of $LUAWORKQ: the .deb declares the
-- Debian packages of the libraries the binary links, holds the binary, the
-- man page and the testing module, and, unpacked with dpkg-deb -x into a
-- folder, runs a job. Without dpkg-deb, dpkg-shlibdeps or cpack the spec says
-- why and exits 77, which CTest counts as skipped.
local testing = require "luaworkq.testing"
local quote = testing.quote

local BIN = assert(os.getenv("LUAWORKQ"), "set LUAWORKQ to BUILD/luaworkq")
local BUILD = BIN:match("^(.*)/[^/]*$") or "."

local support = require "support"
local sh = support.sh

support.skip_unless("package_spec", nil, {"cpack", "dpkg-deb", "dpkg-shlibdeps", "file"})

describe("cpack -G DEB", function()
  local dir, deb, root

  setup(function()
    dir = testing.tmpdir()
    local code, out = sh(("cpack --config %s -G DEB -B %s 2>&1")
      :format(quote(BUILD .. "/CPackConfig.cmake"), quote(dir)))
    deb = out:match("package: (%S+%.deb) generated")
    assert(code == 0 and deb, "cpack failed: " .. out)
    root = dir .. "/root"
    assert(sh(("dpkg-deb -x %s %s"):format(quote(deb), quote(root))) == 0)
  end)
  teardown(function() testing.remove_tree(dir) end)

  it("makes a .deb whose Depends names the package of every shared library "
     .. "the binary loads", function()
    local _, depends = sh("dpkg-deb -f " .. quote(deb) .. " Depends")
    assert.matches("libc6", depends)
    local _, ldd = sh("ldd " .. quote(root .. "/usr/bin/luaworkq"))
    local checked = 0
    for lib in ldd:gmatch("=> (/%S+)") do
      -- dpkg knows a library by one of its paths, /lib or /usr/lib.
      local package
      for _, path in ipairs{lib, lib:match("^/usr(/.*)") or "/usr" .. lib} do
        local code, owner = sh("dpkg-query -S " .. quote(path) .. " 2>/dev/null")
        package = package or code == 0 and owner:match("^([^:,]+)") or nil
      end
      assert.truthy(package and depends:find(package, 1, true),
        ("%s (from %s) is not in Depends: %s"):format(package, lib, depends))
      checked = checked + 1
    end
    assert.truthy(checked > 0, ldd)
  end)

  local files = {
    {"the binary", "/usr/bin/luaworkq"},
    {"the man page", "/usr/share/man/man1/luaworkq.1"},
    {"the testing module", "/usr/share/lua/5.4/luaworkq/testing.lua"},
  }
  for _, case in ipairs(files) do
    it("installs " .. case[1] .. " as " .. case[2], function()
      assert.are.equal(0, (sh("test -s " .. quote(root .. case[2]))))
    end)
  end

  it("unpacked with dpkg-deb -x, its luaworkq is the build's and runs a job", function()
    local bin = root .. "/usr/bin/luaworkq"
    local _, unpacked = sh(quote(bin) .. " --version")
    local _, built = sh(quote(BIN) .. " --version")
    assert.are.equal(built, unpacked)
    support.runs_a_job(bin)
  end)

  it("puts luaworkq.testing where lua5.4 finds it under the unpacked /usr", function()
    support.finds_testing_module_in(root .. "/usr/share")
  end)
end)
