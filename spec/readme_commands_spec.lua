-- The commands the README shows, with the output it shows. Every "$ " line
-- of an indented block is run, in README order and all in one folder,
-- through the real binary, and what it prints (stdout and stderr as they
-- come, 2>&1) must be exactly the lines shown after it, or nothing when
-- none are shown. No command is skipped: one that cannot run as written
-- (an editor, a terminal, the machine's /tmp) is mapped in STANDS_FOR to
-- what stands for it; every other runs as written, with standard input
-- /dev/null, so that a new command that cannot run prints something else
-- than the README shows and fails here.
--
-- The folder holds, before the first command, the files the README's
-- commands name without showing them:
-- - spec/fixtures/readme: job.lua (what the README calls job.lua: it
--   decodes %XX escapes, and a bad escape fails its item), nums.txt,
--   sales.csv;
-- - MADE below: items.txt, big.zst, dump.txt.zst;
-- and, as the README goes, each ```lua block whose first line names a file
-- ("-- wordcount.lua: ...") is written where it stands, and a file shown
-- with `cat` that is not there yet is written with the lines shown (and
-- the `cat` is run).
local testing = require "luaworkq.testing"
local support = require "support"

local quote = testing.quote
local README = support.SRC .. "/README.md"
local FIXTURES = support.SRC .. "/spec/fixtures/readme"

-- The README in order: {file = name, body = ...} for each ```lua block that
-- names its file, {cmd = ..., out = ...} for each "$ " line of an indented
-- block and the lines after it until the next one.
local function walk(text)
  local steps, cur, block = {}, nil, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if block then
      if line == "```" then
        local name = block[1] and block[1]:match("^%-%- ([%w%-_]+%.lua)[: ]")
        if name then steps[#steps + 1] = {file = name, body = table.concat(block, "\n") .. "\n"} end
        block = nil
      else
        block[#block + 1] = line
      end
    elseif line == "```lua" then
      block, cur = {}, nil
    elseif line:match("^    %$ ") then
      cur = {cmd = line:sub(7), out = {}}
      steps[#steps + 1] = cur
    elseif cur and line:match("^    ") then
      cur.out[#cur.out + 1] = line:sub(5)
    else
      cur = nil
    end
  end
  for _, s in ipairs(steps) do
    if s.cmd then s.out = table.concat(s.out, "\n") end
  end
  return steps
end

-- A zstd frame of raw blocks holding data, whose header asks for a window
-- of 2^log bytes (RFC 8878: no content size, so the window is the bound).
local function zstd_frame(log, data)
  local out = {"\x28\xB5\x2F\xFD\x00", string.char((log - 10) << 3)}
  local block = math.min(1 << log, 128 * 1024)
  local at = 1
  repeat
    local piece = data:sub(at, at + block - 1)
    at = at + #piece
    local header = (#piece << 3) | (at > #data and 1 or 0)
    out[#out + 1] = string.char(header & 0xFF, (header >> 8) & 0xFF, header >> 16) .. piece
  until at > #data
  return table.concat(out)
end

-- The files the README's commands name that the spec makes: name -> content.
local MADE = {
  -- "Fix and rerun": 1000 requests, 23 of them with a bad escape, the
  -- first three as the README's dry run lists them.
  ["items.txt"] = function()
    local bad = {[12] = "/a%zz", [87] = "/b%q1", [130] = "/%%%"}
    for k = 0, 19 do bad[150 + 40 * k] = "/c%g" .. k end
    local lines = {}
    for i = 1, 1000 do lines[i] = "GET " .. (bad[i] or "/p" .. i) .. " HTTP/1.1\n" end
    return table.concat(lines)
  end,
  -- A frame that needs a window of 256 MiB, as zstd --long=28 writes.
  ["big.zst"] = function() return zstd_frame(28, "a\n") end,
  -- A first record of 1.5 MiB, over --max-record 1M, then two lines.
  ["dump.txt.zst"] = function() return zstd_frame(21, ("x"):rep(1536 * 1024) .. "\nb\nc\n") end,
}

-- Runs a shell command in dir, luaworkq on the PATH, standard input
-- /dev/null; returns stdout and stderr together, less one last newline. A
-- command that waits for ever (an editor, a read of the terminal) is ended
-- after TIMEOUT seconds, and says so.
local TIMEOUT = 60
local function shell(dir, cmd)
  local script = ("cd %s && PATH=%s:$PATH && {\n%s\n} </dev/null 2>&1"):format(
    quote(dir), quote(dir .. "/bin"), cmd)
  local p = assert(io.popen(("timeout -k 5 %d bash -c %s"):format(TIMEOUT, quote(script))))
  local out = p:read("a"):gsub("\n$", "")
  local _, _, code = p:close()
  if code == 124 or code == 137 then out = out .. ("\n(ended after %d s)"):format(TIMEOUT) end
  return out
end

local function replace_plain(s, old, new)
  local at = s:find(old, 1, true)
  while at do
    s = s:sub(1, at - 1) .. new .. s:sub(at + #old)
    at = s:find(old, at + #new, true)
  end
  return s
end

-- The commands that cannot run as written, by the command (a trailing
-- comment left out): what stands for each, run in dir, returns its output.
local STANDS_FOR = {
  -- The fix of "Fix and rerun": the edit, made to the file.
  ["vi job.lua"] = function(dir)
    local path, bug = dir .. "/job.lua", 'string.char(assert(tonumber(hex, 16), "bad escape"))'
    local job = testing.read_file(path)
    assert(job:find(bug, 1, true), "job.lua holds no bug to fix")
    testing.write_file(path, replace_plain(job, bug, "tonumber(hex, 16) and string.char(tonumber(hex, 16))"))
    return ""
  end,
  -- Items typed at a terminal: under script(1), whose pseudo-terminal is
  -- standard input and stderr; nothing is typed (its input ends at once,
  -- as Ctrl-D does). The README shows the terminal: stderr, the results
  -- being none.
  ["luaworkq job.lua"] = function(dir)
    local tty = shell(dir, "script -qec 'luaworkq job.lua >/dev/null' /dev/null") .. "\n"
    return (tty:gsub("\r\n", "\n"):sub(1, -2))
  end,
  -- Another user's link planted in /tmp: /tmp is the machine's, so the
  -- link is planted in a sticky world-writable folder of the spec's own,
  -- whose name the output says where the README says /tmp. Only root can
  -- give the link to uid 1001.
  ["luaworkq -o /tmp/out.json job.lua items.txt"] = function(dir, cmd)
    assert(support.is_root(), "not root: a link of uid 1001 cannot be made")
    local tmp = dir .. "/tmp"
    assert(os.execute(("mkdir -m 1777 %s && ln -s ../planted %s && chown -h 1001 %s"):format(
      quote(tmp), quote(tmp .. "/out.json"), quote(tmp .. "/out.json"))))
    return replace_plain(shell(dir, replace_plain(cmd, "/tmp/", tmp .. "/")), tmp, "/tmp")
  end,
}

describe("the README's commands", function()
  local dir
  support.tmpdir_all(function(path) dir = path end)

  it("print what the README shows, every one of them", function()
    local text = testing.read_file(README)
    local bin = support.absolute(os.getenv("LUAWORKQ") or "luaworkq")
    assert(os.execute(("cp %s/* %s && mkdir %s && ln -s %s %s"):format(quote(FIXTURES), quote(dir),
      quote(dir .. "/bin"), quote(bin), quote(dir .. "/bin/luaworkq"))))
    for name, make in pairs(MADE) do testing.write_file(dir .. "/" .. name, make()) end
    local ran, used = 0, {}
    for _, s in ipairs(walk(text)) do
      local shown_file = s.cmd and s.cmd:match("^cat ([%w%-_.]+)$")
      if s.file then
        testing.write_file(dir .. "/" .. s.file, s.body)
      else
        if shown_file and not testing.read_file(dir .. "/" .. shown_file) then
          testing.write_file(dir .. "/" .. shown_file, s.out .. "\n")
        end
        local key = s.cmd:gsub("%s+#[^'\"]*$", "")
        local stand_in = STANDS_FOR[key]
        local out = stand_in and stand_in(dir, s.cmd) or shell(dir, s.cmd)
        if stand_in then used[key] = true end
        assert.are.equal(s.out, out, s.cmd)
        ran = ran + 1
      end
    end
    local shown = select(2, text:gsub("\n%s*%$ ", ""))
    assert.are.equal(shown, ran, "commands run of the README's $ lines")
    for key in pairs(STANDS_FOR) do assert.is_true(used[key], "not in the README: " .. key) end
  end)
end)
