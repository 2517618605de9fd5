--- luaworkq.testing: helpers for specs of luaworkq jobs.
--
-- `testing.load(path, opts)` loads a job script in a fresh environment that
-- looks like one worker of the real binary, so its hooks can be called
-- directly from a busted spec. `testing.run(opts)` and `testing.spawn(opts)`
-- run the real binary over some input and return what it wrote: $LUAWORKQ,
-- luaworkq on the PATH, or the build/luaworkq of the clone this file is in
-- (testing.binary).
--
-- Pure Lua 5.4 and its standard library; lua-cjson is used when present, for
-- `luaworkq.null` and for decoding the binary's output.
--
--   local testing = require "luaworkq.testing"
--   local job = testing.load("wordcount.lua", {args = {min = "2"}})
--   assert.are.same({hat = 2}, job.run{"a hat", "the hat"})
--   local r = testing.run{job = "wordcount.lua", items = {"a hat"}, args = {"-j", "2"}}
--   assert.are.same({0, '{"a":1,"hat":1}\n'}, {r.code, r.stdout})

local testing = {}

local has_cjson, cjson = pcall(require, "cjson")

-- The marker metatable of luaworkq.array in loaded jobs.
testing.array_mt = {__name = "luaworkq.array"}

-- luaworkq.null: cjson.null (the light userdata NULL, as in the binary) when
-- cjson is there, otherwise a sentinel of our own.
testing.null = has_cjson and cjson.null
  or setmetatable({}, {__name = "luaworkq.null",
                       __tostring = function() return "luaworkq.null" end})

local function version()
  local real = package.loaded.luaworkq
  return type(real) == "table" and real.version or "0.0.0-testing"
end

---------------------------------------------------------------------------
-- Files and the shell.
---------------------------------------------------------------------------

--- Quotes s for sh: single quotes, with each ' written as '\''.
function testing.quote(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end
local quote = testing.quote

function testing.write_file(path, content)
  local f = assert(io.open(path, "wb"))
  assert(f:write(content))
  assert(f:close())
  return path
end

--- Returns the whole content of path, or nil if it cannot be opened.
function testing.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Makes a fresh directory under $TMPDIR and returns its path.
function testing.tmpdir()
  local p = assert(io.popen("mktemp -d"))
  local dir = p:read("l")
  p:close()
  assert(dir and dir ~= "", "mktemp -d failed")
  return dir
end

--- Removes a directory made by tmpdir, with everything in it.
function testing.remove_tree(dir)
  os.execute("rm -rf " .. quote(dir))
end

--- Converts os.execute's results to a shell-style exit code: the status for
-- a normal exit, 128 + the signal number for a death by signal.
local function exit_code(ok, how, n)
  if how == "signal" then return 128 + n end
  return n or (ok and 0 or 1)
end

--- Polls until cond() (or, given a path, the file's existence) is true;
-- returns true, or false after timeout seconds (default 30).
function testing.wait_for(cond, timeout)
  if type(cond) == "string" then
    local path = cond
    cond = function() return testing.read_file(path) ~= nil end
  end
  local deadline = os.time() + (timeout or 30) + 1
  while not cond() do
    if os.time() > deadline then return false end
    os.execute("sleep 0.01")
  end
  return true
end

---------------------------------------------------------------------------
-- testing.load: a job in a fresh environment.
---------------------------------------------------------------------------

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

--- A `require` for env: modules beside the script run in env (as they would
-- in a worker's state); anything else comes from the ordinary require.
local function make_require(env, dir, luaworkq)
  local loaded = {luaworkq = luaworkq}
  local path = dir .. "/?.lua;" .. dir .. "/?/init.lua"
  return function(name)
    if loaded[name] ~= nil then return loaded[name] end
    local file = package.searchpath(name, path)
    if not file then return require(name) end
    local chunk = assert(loadfile(file, "t", env))
    local value = chunk(name, file)
    if value == nil then value = true end
    loaded[name] = value
    return value
  end
end

-- The input's name that where() gives in loaded jobs, unless opts.name.
local DEFAULT_NAME = "items"

-- Of each loaded job's luaworkq table, the function that calls process
-- as the binary does (make_luaworkq).
local in_process_of = setmetatable({}, {__mode = "k"})

-- The read-only views of setup's value, as the binary gives them: each
-- view's table, to copy it (luaworkq.copy) and to encode it (transfer).
local viewed = setmetatable({}, {__mode = "k"})

-- The key path of k in a table at path: result.a, result[3], result["a b"].
local function key_path(path, k)
  if math.type(k) == "integer" then return ("%s[%d]"):format(path, k) end
  if type(k) ~= "string" then return ("%s[%s]"):format(path, tostring(k)) end
  if k:match("^[%a_][%w_]*$") then return path .. "." .. k end
  return ("%s[%q]"):format(path, k)
end

--- Copies a value by value, as results cross from a worker to the host,
-- and fails as the binary does on what cannot cross.
local function transfer(v, path, seen)
  if viewed[v] then v = viewed[v] end
  local t = type(v)
  if t == "table" then
    if seen[v] then error(path .. ": cannot transfer a cycle", 0) end
    seen[v] = true
    local copy = {}
    for k, x in pairs(v) do copy[k] = transfer(x, key_path(path, k), seen) end
    seen[v] = nil
    local marked = getmetatable(v) == testing.array_mt
    return setmetatable(copy, marked and testing.array_mt or nil)
  elseif t == "function" or t == "thread"
      or (t == "userdata" and v ~= testing.null) then
    error(("%s: cannot transfer a %s"):format(path, t), 0)
  end
  return v
end

--- A read-only view of the table t at path ("shared"): reads go through to
-- t, a part that is a table comes as a view (the same one each time), and
-- an assignment raises "PATH: shared data is read-only".
local function view(t, path)
  local parts = {}
  local function part(k, v)
    if type(v) ~= "table" then return v end
    if not parts[k] then parts[k] = view(v, key_path(path, k)) end
    return parts[k]
  end
  local proxy = setmetatable({}, {
    __index = function(_, k) return part(k, t[k]) end,
    __newindex = function(_, k)
      error(key_path(path, k) .. ": shared data is read-only", 2)
    end,
    __len = function() return #t end,
    __pairs = function()
      return function(_, k)
        local nk, v = next(t, k)
        return nk, part(nk, v)
      end, nil, nil
    end,
    __metatable = "read-only",
  })
  viewed[proxy] = t
  return proxy
end

--- luaworkq.copy: a deep copy in plain tables, metatables and cycles kept.
local function deep_copy(v, seen)
  if viewed[v] then v = viewed[v] end
  if type(v) ~= "table" then return v end
  if seen[v] then return seen[v] end
  local t = {}
  seen[v] = t
  for k, x in next, v do t[deep_copy(k, seen)] = deep_copy(x, seen) end
  return setmetatable(t, getmetatable(v))
end

local function make_luaworkq(opts, logs)
  local lw = {
    worker = opts.worker or 1,
    workers = opts.workers or 1,
    args = opts.args or {},
    version = opts.version or version(),
    null = testing.null,
    where = function() end,  -- outside process
  }
  -- luaworkq.header(): a copy of opts.header (the names of a --header
  -- input's header), or nil
  function lw.header()
    if opts.header == nil then return nil end
    return table.move(opts.header, 1, #opts.header, 1, {})
  end
  function lw.log(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    local line = table.concat(parts, "\t", 1, parts.n)
    logs[#logs + 1] = line
    if not opts.quiet then io.stderr:write(line, "\n") end
  end
  -- Calls f(item, index) as process: luaworkq.where() gives the input's
  -- name and index meanwhile, and nothing after (also after an error).
  local name = opts.name or DEFAULT_NAME
  in_process_of[lw] = function(f, item, index, ...)
    local before = lw.where
    lw.where = function() return name, index end
    local r = table.pack(pcall(f, item, index, ...))
    lw.where = before
    if not r[1] then error(r[2], 0) end
    return table.unpack(r, 2, r.n)
  end
  function lw.array(t)
    if t == nil then t = {} end
    assert(type(t) == "table", "bad argument #1 to 'array' (table expected)")
    return setmetatable(t, testing.array_mt)
  end
  function lw.copy(v) return deep_copy(v, {}) end
  return lw
end

-- Calls a hook as the host does: luaworkq.worker is 0 meanwhile.
local function in_host(lw, hook, ...)
  local worker = lw.worker
  lw.worker = 0
  local ok, v = pcall(hook, ...)
  lw.worker = worker
  if not ok then error(v, 0) end
  return v
end

-- Calls process on item i and copies its result; an error names the item.
-- luaworkq.where() gives the input's name and i meanwhile (the job's own
-- process: job.process would set where() again).
local function process_one(h, lw, item, i)
  local ok, r = pcall(function()
    local r = in_process_of[lw](h.process, item, i)
    if r ~= nil then return transfer(r, "result", {}) end
  end)
  if not ok then
    error(type(r) == "string" and ("item %d failed: %s"):format(i, r) or r, 0)
  end
  return r
end

-- A keyed reduce: the values of each key combined with reduce in input
-- order, then finish(key, value) on each key (nil drops it).
local function reduce_all(h, lw, items)
  local acc = {}
  for i, item in ipairs(items) do
    local r = process_one(h, lw, item, i)
    if r ~= nil and type(r) ~= "table" then
      error(("item %d failed: result: process returned a %s; with reduce it returns "
        .. "a table of key -> value, or nil"):format(i, type(r)), 0)
    end
    for k, v in pairs(r or {}) do
      if type(k) ~= "string" and math.type(k) ~= "integer" then
        error(("item %d failed: result: a key of reduce is a string or an integer, "
          .. "not %s"):format(i, tostring(k)), 0)
      end
      if acc[k] == nil then acc[k] = v else acc[k] = h.reduce(acc[k], v) end
    end
  end
  if h.finish then
    local keys = {}
    for k in pairs(acc) do keys[#keys + 1] = k end
    for _, k in ipairs(keys) do acc[k] = h.finish(k, acc[k]) end
  end
  return acc
end

-- Processes every item, then merges or lists the results, then finish.
local function process_all(h, lw, items)
  if h.reduce then return reduce_all(h, lw, items) end
  local results, acc = {}, nil
  for i, item in ipairs(items) do
    local r = process_one(h, lw, item, i)
    if r ~= nil then
      if not h.merge then results[#results + 1] = r
      elseif acc == nil then acc = r
      else acc = h.merge(acc, r) end
    end
  end
  if not h.merge then return results end
  if h.finish then return in_host(lw, h.finish, acc) end
  return acc
end

local HOOKS = {"setup", "init", "process", "merge", "reduce", "finish", "shutdown"}

--- Runs the hooks over items as the binary does with one worker: setup and
-- finish as the host (worker 0), setup's value as a read-only view (init's
-- argument, luaworkq.shared), init, process for each item, merge of the
-- non-nil results, finish, shutdown (also after an error). Returns the list
-- of non-nil results, or, with merge, the merged value (nil when nothing
-- was merged; the binary writes that as null) or what finish returned;
-- with reduce, the table of every key's value (after finish).
local function run_job(job, items)
  local h, lw = {}, job.luaworkq
  for _, name in ipairs(HOOKS) do h[name] = job.env[name] end
  assert(type(h.process) == "function", "the job has no process function")
  assert(not (h.merge and h.reduce), "the job defines both merge and reduce")
  local shared
  if h.setup then shared = transfer(in_host(lw, h.setup), "setup value", {}) end
  if type(shared) == "table" then shared = view(shared, "shared") end
  lw.shared = shared
  if h.init then h.init(shared) end
  local ok, value = pcall(process_all, h, lw, items)
  if h.shutdown then h.shutdown() end
  if not ok then error(value, 0) end
  return value
end

--- Loads the job script at path in a fresh environment. opts: worker,
-- workers, args, version (default: the binary's when testing.lua runs inside
-- it, else "0.0.0-testing"), quiet (no log lines on stderr), name (the
-- input's name that luaworkq.where() gives in process; default "items").
-- The returned job has the script's globals as fields (job.process,
-- job.merge, ...), plus job.env, job.luaworkq, job.logs (the lines logged)
-- and job.run(items). job.process(item, index) called directly runs as in
-- the binary: luaworkq.where() gives the name and the index given.
function testing.load(path, opts)
  opts = opts or {}
  local logs = {}
  local env = setmetatable({}, {__index = _G})
  local lw = make_luaworkq(opts, logs)
  env._G, env.luaworkq = env, lw
  env.require = make_require(env, dirname(path), lw)
  local chunk = assert(loadfile(path, "t", env))
  chunk()
  local job = {env = env, luaworkq = lw, logs = logs}
  function job.run(items) return run_job(job, items) end
  local function process(item, index, ...)
    assert(type(env.process) == "function", "the job has no process function")
    return in_process_of[lw](env.process, item, index, ...)
  end
  return setmetatable(job, {__index = function(_, k)
    if k == "process" and env.process ~= nil then return process end
    return env[k]
  end})
end

---------------------------------------------------------------------------
-- testing.run and testing.spawn: the real binary.
---------------------------------------------------------------------------

-- This file's path, when it was loaded from a file (not inside the binary).
local MODULE_PATH = (debug.getinfo(1, "S").source or ""):match("^@(.*)")

-- Whether a file can be opened for reading.
local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Whether a program is found on PATH.
local function on_path(name)
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    if exists(dir .. "/" .. name) then return true end
  end
  return false
end

-- The binary a repository's build made: build/luaworkq beside lua/, which
-- holds this file (lua/luaworkq/testing.lua); nil when there is none.
local function repository_binary()
  if not MODULE_PATH then return nil end
  local root = dirname(dirname(dirname(MODULE_PATH)))
  local path = root .. "/build/luaworkq"
  return exists(path) and path or nil
end

--- The luaworkq binary that run and spawn start: opts.bin, else
-- $LUAWORKQ, else luaworkq on the PATH, else the build of the repository
-- this file is in (build/luaworkq, as scripts/quickstart leaves it), else
-- the binary this runs in (inside luaworkq). Raises an error saying so when
-- there is none.
function testing.binary(opts)
  opts = opts or {}
  local bin = opts.bin or os.getenv("LUAWORKQ")
  if bin and bin ~= "" then return bin end
  if on_path("luaworkq") then return "luaworkq" end
  bin = repository_binary()
  if bin then return bin end
  if type(package.loaded.luaworkq) == "table" then
    -- Inside luaworkq: the running binary, by this process's id (a
    -- program started through sh would see sh as /proc/self).
    local f = io.open("/proc/self/stat", "r")
    local pid = f and f:read("n")
    if f then f:close() end
    if pid and exists(("/proc/%d/exe"):format(pid)) then return ("/proc/%d/exe"):format(pid) end
  end
  error("luaworkq.testing: no luaworkq binary to run: LUAWORKQ is not set, luaworkq is "
    .. "not on the PATH" .. (MODULE_PATH and (" and there is no "
      .. dirname(dirname(dirname(MODULE_PATH))) .. "/build/luaworkq") or "")
    .. "; build it (scripts/quickstart), set LUAWORKQ to its path or install it", 0)
end
local binary = testing.binary

--- The -f value among args, or "json".
local function format_of(args)
  local format = "json"
  for i, a in ipairs(args) do
    if a == "-f" or a == "--format" then format = args[i + 1] or format
    else format = a:match("^%-%-format=(.*)") or a:match("^%-f(.+)") or format end
  end
  return format
end

-- Linear in the length of s: a last line without "\n" is taken from where
-- the last "\n" left off, never searched for from every position.
local function split_lines(s)
  local lines, rest = {}, 1
  for line, after in s:gmatch("([^\n]*)\n()") do
    lines[#lines + 1] = line
    rest = after
  end
  if rest <= #s then lines[#lines + 1] = s:sub(rest) end
  return lines
end

--- Decodes stdout by the format; nil when that is not possible.
local function decode(stdout, format)
  if format == "lines" then return split_lines(stdout) end
  if not has_cjson then return nil end
  if format == "ndjson" then
    local list = {}
    for _, line in ipairs(split_lines(stdout)) do
      local ok, v = pcall(cjson.decode, line)
      if not ok then return nil end
      list[#list + 1] = v
    end
    return list
  end
  local ok, v = pcall(cjson.decode, stdout)
  if ok then return v end
end

-- The escapes of -d STR, as the binary reads them.
local ESCAPES = {n = "\n", t = "\t", r = "\r", ["0"] = "\0", ["\\"] = "\\"}

local function unescape(s)
  local out, i = {}, 1
  while i <= #s do
    local c, e = s:sub(i, i), s:sub(i + 1, i + 1)
    if c ~= "\\" then
      out[#out + 1], i = c, i + 1
    elseif e == "x" and s:sub(i + 2, i + 3):match("^%x%x$") then
      out[#out + 1], i = string.char(tonumber(s:sub(i + 2, i + 3), 16)), i + 4
    else
      out[#out + 1], i = assert(ESCAPES[e], "-d: unknown escape"), i + 2
    end
  end
  return table.concat(out)
end

--- The record format that args ask for: "lines" (the default), "delimiter"
-- (with the delimiter's bytes: -0, -d STR), "paragraph", "csv" or "tsv".
local function record_format(args)
  local kind, delim = "lines", nil
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--" then break end
    if a == "-0" or a == "--null" then kind, delim = "delimiter", "\0"
    elseif a == "-d" or a == "--delimiter" then
      kind, delim, i = "delimiter", unescape(args[i + 1] or ""), i + 1
    elseif a:match("^%-%-delimiter=") then kind, delim = "delimiter", unescape(a:sub(13))
    elseif a:match("^%-d.") then kind, delim = "delimiter", unescape(a:sub(3))
    elseif a == "--paragraph" or a == "--csv" or a == "--tsv" then kind = a:sub(3)
    end
    i = i + 1
  end
  return kind, delim
end

-- A CSV field, quoted when it must be.
local function csv_field(f)
  f = tostring(f)
  if f:find('[,"\r\n]') then return '"' .. f:gsub('"', '""') .. '"' end
  return f
end

-- One item as the record format writes it; an item the format cannot hold
-- whole is an error rather than silently becoming several items.
local function record(item, i, kind, delim)
  local function refuse(why)
    error(("items[%d] %s: it would not be one item"):format(i, why), 0)
  end
  if type(item) == "table" and (kind == "csv" or kind == "tsv") then
    local fields = {}
    for k, f in ipairs(item) do
      f = tostring(f)
      if kind == "tsv" and f:find("[\t\r\n]") then
        refuse("has a tab, CR or newline in a field")
      end
      fields[k] = kind == "csv" and csv_field(f) or f
    end
    return table.concat(fields, kind == "csv" and "," or "\t") .. "\n"
  end
  item = tostring(item)
  if kind == "delimiter" then
    if item:find(delim, 1, true) then refuse("holds the delimiter") end
    return item .. delim
  elseif kind == "paragraph" then
    if item == "" or item:find("\n\n", 1, true) or item:find("^\n") or item:find("\n$") then
      refuse("is empty, or holds a blank line")
    end
    return item .. "\n\n"
  elseif kind ~= "csv" and item:find("\n", 1, true) then
    refuse("holds a newline (give -0 or -d)")
  elseif kind == "tsv" and item:find("\r", 1, true) then
    refuse("holds a CR, which ends a TSV record")
  end
  return item .. "\n"
end

--- Writes items in the record format of args: joined by newlines, NUL
-- bytes (-0), a -d delimiter or blank lines (--paragraph); with --csv and
-- --tsv an item may be an array of fields, quoted as the format needs.
function testing.items_input(items, args)
  local kind, delim = record_format(args or {})
  local out = {}
  for i, item in ipairs(items) do out[i] = record(item, i, kind, delim) end
  return table.concat(out)
end

-- The current directory, for making paths absolute.
local function cwd()
  local p = assert(io.popen("pwd"))
  local dir = p:read("l")
  p:close()
  return dir
end

local function absolute(path, dir)
  if path:sub(1, 1) == "/" then return path end
  return dir .. "/" .. path
end

--- Writes the temp files of a run and builds its command. The command reads
-- stdin from a file and writes stdout and stderr to files. With opts.name
-- the input is a file of that name in a folder of its own, where the
-- command runs (job and files are made absolute for that).
local function prepare(opts)
  local base = os.tmpname()
  local files = {base = base, stdin = base .. ".in", stdout = base .. ".out",
                 stderr = base .. ".err", code = base .. ".code"}
  local job = opts.job
  if opts.job_source then
    files.job = base .. ".job.lua"
    job = testing.write_file(files.job, opts.job_source)
  end
  local input = opts.input or ""
  if opts.items then input = testing.items_input(opts.items, opts.args) end
  local items, here = opts.files or {}, nil
  if opts.name then
    assert(not opts.files, "testing.run: name names the input: give items or input, not files")
    assert(opts.name ~= "" and not opts.name:find("/", 1, true) and opts.name ~= "."
           and opts.name ~= "..", "testing.run: name is a file name, without a /")
    here = cwd()
    files.dir = testing.tmpdir()
    testing.write_file(files.dir .. "/" .. opts.name, input)
    job, items, input = job and absolute(job, here), {opts.name}, ""
  end
  testing.write_file(files.stdin, input)

  local words = {}
  for k, v in pairs(opts.env or {}) do
    assert(tostring(k):match("^[%a_][%w_]*$"), "bad environment name")
    words[#words + 1] = k .. "=" .. quote(v)
  end
  table.sort(words)
  local bin = binary(opts)
  if here and bin:find("/", 1, true) then bin = absolute(bin, here) end
  words[#words + 1] = quote(bin)
  for _, a in ipairs(opts.args or {}) do words[#words + 1] = quote(a) end
  if job then words[#words + 1] = quote(job) end
  for _, f in ipairs(items) do words[#words + 1] = quote(f) end
  local cmd = table.concat(words, " ") .. " <" .. quote(files.stdin)
    .. " >" .. quote(files.stdout) .. " 2>" .. quote(files.stderr)
  if files.dir then cmd = "cd " .. quote(files.dir) .. " && " .. cmd end
  return cmd, files
end

local function collect(opts, files, code)
  local stdout = testing.read_file(files.stdout) or ""
  local result = {
    code = code,
    stdout = stdout,
    stderr = testing.read_file(files.stderr) or "",
    output = decode(stdout, format_of(opts.args or {})),
  }
  local dir = files.dir
  files.dir = nil
  for _, f in pairs(files) do os.remove(f) end
  if dir then testing.remove_tree(dir) end
  return result
end

--- Runs the binary and waits for it. opts: job (a path) or job_source (the
-- script's text); items (strings, one per line, or in the record format
-- that args give: see items_input) or input (bytes) for stdin;
-- name (a file name: the input is written to a file of that name instead,
-- so where() and messages name it; the binary then runs in a temporary
-- folder that holds it, so relative paths among args are taken from there);
-- files (paths, given after the job); args (options, given before the job);
-- env (extra environment variables); bin (default: testing.binary()).
-- Returns {code, stdout, stderr, output}, output being stdout decoded by
-- the -f format when that is possible.
function testing.run(opts)
  local cmd, files = prepare(opts)
  local code = exit_code(os.execute(cmd))
  return collect(opts, files, code)
end

--- Starts the binary in the background, with the options of run. Returns
-- {pid, kill(signal), wait(timeout)}; wait returns what run returns, or
-- raises an error when the run has not ended within timeout seconds
-- (default 60).
function testing.spawn(opts)
  local cmd, files = prepare(opts)
  files.code_tmp = files.code .. ".tmp"
  local tmp = files.code_tmp
  -- A background shell starts the binary, prints its pid, then waits for
  -- it and writes its exit status to the code file in one rename.
  local sh = "{ " .. cmd .. " & echo $!; exec >/dev/null 2>&1; wait $!; echo $? >"
    .. quote(tmp) .. "; mv " .. quote(tmp) .. " " .. quote(files.code) .. "; } &"
  local p = assert(io.popen(sh))
  local pid = tonumber(p:read("l"))
  p:close()
  assert(pid, "could not start " .. cmd)

  local proc = {pid = pid}
  function proc.kill(signal)
    signal = tostring(signal or "TERM"):gsub("^SIG", "")
    assert(signal:match("^%w+$"), "bad signal name")
    return os.execute("kill -s " .. signal .. " " .. pid .. " 2>/dev/null")
  end
  function proc.wait(timeout)
    if not testing.wait_for(files.code, timeout or 60) then
      proc.kill("KILL")
      testing.wait_for(files.code, 5)
      collect(opts, files, nil)
      error("the run did not end within " .. (timeout or 60) .. " seconds")
    end
    local code = tonumber(testing.read_file(files.code))
    return collect(opts, files, code)
  end
  return proc
end

return testing
