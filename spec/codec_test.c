/*
 * codec_test.c - checks the value codec (codec.h and the files it heads) from C.
 *
 * Values are built by small Lua chunks in one lua_State that has the globals
 * null (luaworkq.null), array(t) (luaworkq.array) and deepeq(a, b) (equality
 * by value that tells integers from floats, -0.0 from 0.0 and sees the array
 * mark). Every check also verifies that the codec left the stack as it was.
 * Prints one line per failure and a summary; exits 1 on any failure.
 *
 * "codec_test bench" instead times the encoders and decoders.
 */
#include "codec.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static lua_State *L;
static int passed, failed;

static void check(int ok, int line, const char *what, const char *detail)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    printf("FAIL line %d: %s%s%s\n", line, what, detail ? ": " : "", detail ? detail : "");
}

#define CHECK(ok, what, detail) check((ok), __LINE__, (what), (detail))

static int array_fn(lua_State *S)
{
    luaL_checktype(S, 1, LUA_TTABLE);
    wq_codec_push_array_mt(S);
    lua_setmetatable(S, 1);
    lua_settop(S, 1);
    return 1;
}

/* tojson(v): v as JSON text, or nil and the message. */
static int tojson_fn(lua_State *S)
{
    wq_buf b = WQ_BUF_INIT;
    char e[WQ_ERRLEN];
    lua_settop(S, 1);
    int r = wq_codec_encode(S, 1, WQ_JSON, "value", &b, e);
    if (r == 0)
        lua_pushlstring(S, b.data ? b.data : "", b.len);
    wq_buf_free(&b);
    if (r == 0)
        return 1;
    lua_pushnil(S);
    lua_pushstring(S, e);
    return 2;
}

/* fromjson(s): the value of JSON text s. */
static int fromjson_fn(lua_State *S)
{
    size_t n;
    const char *s = luaL_checklstring(S, 1, &n);
    char e[WQ_ERRLEN];
    if (wq_codec_json_decode(S, s, n, e) < 0)
        return luaL_error(S, "%s", e);
    return 1;
}

static const char *const prelude =
    "function deepeq(a, b)\n"
    "  if type(a) ~= type(b) then return false end\n"
    "  if type(a) == 'number' then\n"
    "    if math.type(a) ~= math.type(b) then return false end\n"
    "    if math.type(a) == 'integer' or a ~= a then return a == b or (a ~= a and b ~= b) end\n"
    "    return string.format('%a', a) == string.format('%a', b)\n"
    "  end\n"
    "  if type(a) ~= 'table' then return a == b end\n"
    "  if getmetatable(a) ~= getmetatable(b) then return false end\n"
    "  for k, v in next, a do if not deepeq(v, rawget(b, k)) then return false end end\n"
    "  for k in next, b do if rawget(a, k) == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "function nest(n, leaf)\n"
    "  local root = {}; local t = root\n"
    "  for _ = 2, n do local c = {}; t.a = c; t = c end\n"
    "  t.a = leaf; return root\n"
    "end\n";

/* Runs chunk, which returns one value, and leaves that value on the stack. */
static int eval(const char *chunk, int line)
{
    if (luaL_loadstring(L, chunk) == LUA_OK && lua_pcall(L, 0, 1, 0) == LUA_OK)
        return 0;
    check(0, line, chunk, lua_tostring(L, -1));
    lua_pop(L, 1);
    return -1;
}

/* Encodes the value on top into out (reset first); checks the stack. */
static int encode_top(enum wq_format fmt, wq_buf *out, char *err, int line)
{
    int top = lua_gettop(L);
    wq_buf_reset(out);
    int r = wq_codec_encode(L, -1, fmt, "result", out, err);
    check(lua_gettop(L) == top, line, "wq_codec_encode left the stack as it was", NULL);
    check(strlen(err) < WQ_ERRLEN, line, "err is terminated", NULL);
    return r;
}

static wq_buf out = WQ_BUF_INIT;
static char err[WQ_ERRLEN];

static void expect_output(const char *chunk, enum wq_format fmt, const char *want,
                          size_t wantlen, int line)
{
    if (eval(chunk, line) < 0)
        return;
    if (encode_top(fmt, &out, err, line) < 0) {
        check(0, line, chunk, err);
    } else {
        int same = out.len == wantlen && memcmp(out.data, want, wantlen) == 0;
        char got[200];
        snprintf(got, sizeof got, "got %.*s", (int)(out.len < 150 ? out.len : 150), out.data);
        check(same, line, chunk, same ? NULL : got);
    }
    lua_pop(L, 1);
}

#define JSON(chunk, want) expect_output((chunk), WQ_JSON, (want), strlen(want), __LINE__)
#define TEXT(chunk, want) expect_output((chunk), WQ_TEXT, (want), sizeof(want) - 1, __LINE__)

static void expect_error(const char *chunk, enum wq_format fmt, const char *want, int line)
{
    if (eval(chunk, line) < 0)
        return;
    int r = encode_top(fmt, &out, err, line);
    char got[WQ_ERRLEN + 16];
    snprintf(got, sizeof got, "got \"%s\"", err);
    check(r < 0 && strcmp(err, want) == 0, line, chunk, got);
    lua_pop(L, 1);
}

#define ENC_ERROR(chunk, fmt, want) expect_error((chunk), (fmt), (want), __LINE__)

/* Binary round trip: the decoded value is deepeq to the original and, when
 * the value has a JSON form, encodes to the same JSON. */
static void roundtrip(const char *chunk, int line)
{
    if (eval(chunk, line) < 0)
        return;
    int top = lua_gettop(L);
    if (encode_top(WQ_BINARY, &out, err, line) < 0) {
        check(0, line, chunk, err);
        lua_pop(L, 1);
        return;
    }
    if (wq_codec_decode(L, out.data, out.len, err) < 0) {
        check(0, line, chunk, err);
        lua_pop(L, 1);
        return;
    }
    check(lua_gettop(L) == top + 1, line, "wq_codec_decode pushed one value", NULL);
    lua_getglobal(L, "deepeq");
    lua_pushvalue(L, -3);
    lua_pushvalue(L, -3);
    lua_call(L, 2, 1);
    check(lua_toboolean(L, -1), line, chunk, "decoded value differs");
    lua_pop(L, 1);
    wq_buf a = WQ_BUF_INIT, b = WQ_BUF_INIT;
    char e1[WQ_ERRLEN], e2[WQ_ERRLEN];
    int r1 = wq_codec_encode(L, -2, WQ_JSON, "result", &a, e1);
    int r2 = wq_codec_encode(L, -1, WQ_JSON, "result", &b, e2);
    check(r1 == r2 && (r1 < 0 ? strcmp(e1, e2) == 0
                              : a.len == b.len && memcmp(a.data, b.data, a.len) == 0),
          line, chunk, "JSON of the decoded value differs");
    wq_buf_free(&a);
    wq_buf_free(&b);
    lua_settop(L, top - 1);
}


/* ---- JSON output --------------------------------------------------------- */

static void test_json(void)
{
    JSON("return {len = #'hello', word = 'abc'}", "{\"len\":5,\"word\":\"abc\"}");
    JSON("return {b = 1, a = 2, c = {}}", "{\"a\":2,\"b\":1,\"c\":{}}");
    JSON("return {1, 2, 3}", "[1,2,3]");
    JSON("return {1, 2, {a = 'x'}}", "[1,2,{\"a\":\"x\"}]");
    JSON("return {[1] = 1, [3] = 3}", "{\"1\":1,\"3\":3}");
    JSON("return {1, nil, 3}", "{\"1\":1,\"3\":3}");
    JSON("return {[0] = 'z', 'a'}", "{\"0\":\"z\",\"1\":\"a\"}");
    JSON("return {[-1] = 1}", "{\"-1\":1}");
    JSON("return {}", "{}");
    JSON("return array({})", "[]");
    JSON("return array({a = 1})", "{\"a\":1}");
    JSON("return array({7})", "[7]");
    JSON("return {ab = 1, a = 2, b = 3, [''] = 0}", "{\"\":0,\"a\":2,\"ab\":1,\"b\":3}");
    JSON("return {[10] = 1, [9] = 2, [100] = 3}", "{\"10\":1,\"100\":3,\"9\":2}");
    JSON("return {[true] = 1, [false] = 0}", "{\"false\":0,\"true\":1}");
    JSON("return {[1.5] = 1, [-0.25] = 2, [1/0] = 3}", "{\"-0.25\":2,\"1.5\":1,\"inf\":3}");
    /* Keys sort by their text as written: an invalid byte as U+FFFD. */
    JSON("return {['\\u{FFFE}'] = 1, ['\\xff'] = 2}",
         "{\"\xEF\xBF\xBD\":2,\"\xEF\xBF\xBE\":1}");
    JSON("return {['\\xf0\\x9f'] = 1, ['\\u{FFFD}x'] = 2, ['\\u{FFFC}'] = 3}",
         "{\"\xEF\xBF\xBC\":3,\"\xEF\xBF\xBD\":1,\"\xEF\xBF\xBDx\":2}");
    JSON("return {['\\xff'] = 1, ['\\x7f'] = 2, ['~'] = 3}",
         "{\"~\":3,\"\x7f\":2,\"\xEF\xBF\xBD\":1}");
    JSON("return {a = {b = {c = {1, {}}}}}", "{\"a\":{\"b\":{\"c\":[1,{}]}}}");
    JSON("return {null, 1, x = null}", "{\"1\":null,\"2\":1,\"x\":null}");
    JSON("return {null, 1}", "[null,1]");
    JSON("return null", "null");
    JSON("return nil", "null");
    JSON("return true", "true");
    JSON("return {false}", "[false]");
    JSON("return 'a\"b\\\\c\\n\\r\\t\\b\\f\\1\\31\\127/\\0'",
         "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\x7f/\\u0000\"");
    JSON("return 'caf\\u{e9} \\u{1F600} \\u{10FFFF}'",
         "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");
    /* U+FFFD, one per maximal invalid subpart (Unicode / WHATWG practice). */
    JSON("return '\\xff'", "\"\xEF\xBF\xBD\"");
    JSON("return 'a\\xc3'", "\"a\xEF\xBF\xBD\"");
    JSON("return '\\xe2\\x82z'", "\"\xEF\xBF\xBDz\"");
    JSON("return '\\xf0\\x9f\\x98'", "\"\xEF\xBF\xBD\"");
    JSON("return '\\xc0\\xaf'", "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    JSON("return '\\xe0\\x80\\x80'", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    JSON("return '\\xed\\xa0\\x80'", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    JSON("return '\\xf4\\x90\\x80\\x80'",
         "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    JSON("return '\\xc3\\xa9\\x80\\xc3\\xa9'", "\"\xc3\xa9\xEF\xBF\xBD\xc3\xa9\"");
    JSON("return 0.1", "0.1");
    JSON("return 1.0", "1.0");
    JSON("return 100.0", "100.0");
    JSON("return -2.5", "-2.5");
    JSON("return 1e20", "1e+20");
    /* Shortest decimal that reads back, written as Python's repr. */
    JSON("return 1e15", "1000000000000000.0");
    JSON("return 1e16", "1e+16");
    JSON("return 9007199254740993.0 * 1.5", "1.3510798882111488e+16");
    JSON("return 1e-4", "0.0001");
    JSON("return 1e-5", "1e-05");
    JSON("return 1.5e300", "1.5e+300");
    JSON("return 5e-324", "5e-324");
    JSON("return -5e-324", "-5e-324");
    JSON("return 1e-310", "1e-310");
    JSON("return 2.2250738585072014e-308", "2.2250738585072014e-308");
    JSON("return 2.225073858507201e-308", "2.225073858507201e-308");
    JSON("return 1.7976931348623157e308", "1.7976931348623157e+308");
    JSON("return 2^-1022", "2.2250738585072014e-308");
    JSON("return 2^-1074 * 3", "1.5e-323");
    JSON("return 123456789012345.0", "123456789012345.0");
    JSON("return -0.0", "-0.0");
    JSON("return 0.0", "0.0");
    JSON("return 2^53", "9007199254740992.0");
    JSON("return 1/3", "0.3333333333333333");
    JSON("return 0.1 + 0.2", "0.30000000000000004");
    JSON("return 1e-7", "1e-07");
    JSON("return 2^63", "9.223372036854776e+18");
    JSON("return math.mininteger", "-9223372036854775808");
    JSON("return math.maxinteger", "9223372036854775807");
    JSON("return {0, -1, 42}", "[0,-1,42]");
    JSON("return setmetatable({1, x = 2}, {__index = error, __pairs = error, __len = error,"
         " __tostring = error})", "{\"1\":1,\"x\":2}");
    /* More keys than the sort's small path, and than values kept on the stack
     * (those take the protected look-up path; keys longer than short strings). */
    JSON("local t = {} for i = 1, 20 do t['k' .. i] = i end t[5] = 'n' return t",
         "{\"5\":\"n\",\"k1\":1,\"k10\":10,\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,"
         "\"k15\":15,\"k16\":16,\"k17\":17,\"k18\":18,\"k19\":19,\"k2\":2,\"k20\":20,"
         "\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9}");
}

/* Big tables: the expected text is built in Lua. */
static void test_json_big(void)
{
    static const char *const cases[] = {
        "local t, keys = {}, {}\n"
        "for i = 1, 5000 do local k = string.rep('k', 45) .. i; t[k] = {i}; keys[#keys + 1] = k end\n"
        "t[7] = true; t[2.5] = false\n"
        "table.sort(keys)\n"
        "local parts = {'\"2.5\":false', '\"7\":true'}\n"
        "for _, k in ipairs(keys) do parts[#parts + 1] = '\"' .. k .. '\":[' .. t[k][1] .. ']' end\n"
        "return t, '{' .. table.concat(parts, ',') .. '}'",
        "local t, parts = {}, {}\n"
        "for i = 1, 10000 do t[i] = i * 2; parts[i] = i * 2 end\n"
        "return t, '[' .. table.concat(parts, ',') .. ']'",
        /* Keys of every kind, beyond the keys kept on the stack: each pair
         * must be written as in an object of one key, sorted by the key's
         * text as written (the key of that one-key object read back). */
        "local t = {}\n"
        "for i = 1, 400 do\n"
        "  t['k' .. i] = i; t[string.rep('p', 20) .. i] = i + 0.25\n"
        "  t['q\"\\\\\\n\\0' .. i] = {i, {x = i}}; t['\\u{e9}\\u{1F600}' .. i] = 'v' .. i\n"
        "  t['bad\\255' .. i] = true; t[i + 0.5] = false; t[1000000 + i] = -i\n"
        "  t[('\\0'):rep(i % 20)] = i; t['a' .. ('\\0'):rep(i % 20)] = i\n"
        "end\n"
        "t[true] = 'yes'; t['bad\\240\\159'] = 0\n"
        "local pairs_ = {}\n"
        "for k, v in pairs(t) do\n"
        "  local one = assert(tojson({[k] = v}))\n"
        "  pairs_[#pairs_ + 1] = {next(fromjson(one)), one:sub(2, -2)}\n"
        "end\n"
        "table.sort(pairs_, function(a, b) return a[1] < b[1] end)\n"
        "local parts = {}\n"
        "for i, p in ipairs(pairs_) do parts[i] = p[2] end\n"
        "return t, '{' .. table.concat(parts, ',') .. '}'",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (luaL_dostring(L, cases[i]) != LUA_OK) {
            CHECK(0, cases[i], lua_tostring(L, -1));
            lua_pop(L, 1);
            continue;
        }
        size_t n;
        const char *want = lua_tolstring(L, -1, &n);
        lua_pushvalue(L, -2);
        int r = encode_top(WQ_JSON, &out, err, __LINE__);
        CHECK(r == 0 && out.len == n && memcmp(out.data, want, n) == 0, "big table JSON", err);
        lua_pop(L, 3);
    }
}

/* Small objects (a few plain string keys, scalar values) take a path of
 * their own. Random ones, some of them just outside it (a key that needs
 * an escape or a U+FFFD, a number or boolean key, a table or NaN value,
 * more keys), against the general path: the same keys with nine more
 * ("\1p1"...: no small object has them), cut away from its text. */
static void test_json_small(void)
{
    static const char *const chunk =
        "math.randomseed(11)\n"
        "local keys = {'a', 'b', 'ab', '', 'k1', 'k10', 'k2', '~', '\\x7f', 'a\\0b', '\\u{e9}t',\n"
        "  '\\u{1F600}', 'z\"q', 'back\\\\', 'nl\\n', '\\xff', 'x\\xc3', 1, 2, 1.5, true, 'len'}\n"
        "local values = {function() return math.random(-1000, 1000) end,\n"
        "  function() return math.random() * 10 ^ math.random(-30, 30) end,\n"
        "  function() return ({-0.0, 1.0, 1e20, math.maxinteger, math.mininteger})[math.random(5)] end,\n"
        "  function() return ({'', 'v', 'q\"\\\\\\n\\t\\1', '\\u{e9}', '\\xff\\xfe', 'a\\0b'})[math.random(6)] end,\n"
        "  function() return math.random(2) == 1 end, function() return null end,\n"
        "  function() return {x = 1} end, function() return 0 / 0 end}\n"
        "local bad = 0\n"
        "for round = 1, 3000 do\n"
        "  local t, padded = {}, {}\n"
        "  for i = 1, 9 do padded['\\1p' .. i] = 0 end\n"
        "  for _ = 1, math.random(1, 10) do\n"
        "    local k = keys[math.random(#keys - (round % 3 == 0 and 0 or 6))]\n"
        "    local v = values[math.random(#values - (round % 4 == 0 and 0 or 2))]()\n"
        "    t[k] = v; padded[k] = v\n"
        "  end\n"
        "  local got, gerr = tojson(t)\n"
        "  local want, werr = tojson(padded)\n"
        "  if want then want = want:gsub('\"\\\\u0001p%d\":0,?', ''):gsub(',}$', '}') end\n"
        "  if got ~= want or gerr ~= werr then\n"
        "    bad = bad + 1\n"
        "    if bad == 1 then print(got, gerr, want, werr) end\n"
        "  end\n"
        "end\n"
        "return bad\n";
    if (luaL_dostring(L, chunk) != LUA_OK) {
        CHECK(0, "small objects", lua_tostring(L, -1));
    } else {
        CHECK(lua_tointeger(L, -1) == 0, "small objects as the general path writes them", NULL);
    }
    lua_settop(L, 0);
}

/* ---- Encoding errors ----------------------------------------------------- */

/* The message for an error 200 keys "a" deep: the path is cut to fit
 * WQ_ERRLEN, its last three bytes becoming "...". */
static const char *deep_msg(char *buf, const char *msg)
{
    size_t keep = WQ_ERRLEN - 3 - strlen(msg) - 3;
    strcpy(buf, "result");
    while (strlen(buf) < keep)
        strcat(buf, ".a");
    buf[keep] = '\0';
    strcat(buf, "...: ");
    strcat(buf, msg);
    return buf;
}

static void test_encode_errors(void)
{
    static const enum wq_format both[] = {WQ_BINARY, WQ_JSON};
    for (int f = 0; f < 2; f++) {
        enum wq_format fmt = both[f];
        ENC_ERROR("return {a = {b = function() end}}", fmt, "result.a.b: cannot transfer a function");
        ENC_ERROR("local t = {list = {1, 2}}; t.list[3] = t; return t", fmt,
                  "result.list[3]: cannot transfer a cycle");
        ENC_ERROR("local t = {}; t.self = t; return t", fmt, "result.self: cannot transfer a cycle");
        ENC_ERROR("return {['a b'] = io.stdout}", fmt, "result[\"a b\"]: cannot transfer a userdata");
        ENC_ERROR("return {co = coroutine.create(print)}", fmt, "result.co: cannot transfer a thread");
        ENC_ERROR("return print", fmt, "result: cannot transfer a function");
        ENC_ERROR("return {x = {[{}] = 1}}", fmt, "result.x: cannot transfer a table as a key");
        ENC_ERROR("return {[null] = 1}", fmt, "result: cannot transfer a userdata as a key");
        ENC_ERROR("return {[1.5] = {[true] = {[7] = print}}}", fmt,
                  "result[1.5][true][7]: cannot transfer a function");
        ENC_ERROR("return {['1abc'] = print}", fmt, "result[\"1abc\"]: cannot transfer a function");
        ENC_ERROR("return {['a\"b\\\\\\n'] = print}", fmt,
                  "result[\"a\\\"b\\\\\\x0a\"]: cannot transfer a function");
        ENC_ERROR("return {[string.rep('x', 100)] = print}", fmt,
                  "result[\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"]: cannot transfer a function");
        ENC_ERROR("return {[string.rep('y', 41)] = print}", fmt,
                  "result[\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy...\"]: cannot transfer a function");
        char want[WQ_ERRLEN];
        ENC_ERROR("return nest(201, 1)", fmt, deep_msg(want, "nested deeper than 200 levels"));
        ENC_ERROR("return nest(10000, 1)", fmt, deep_msg(want, "nested deeper than 200 levels"));
        ENC_ERROR("return nest(200, print)", fmt, deep_msg(want, "cannot transfer a function"));
        /* A bad value beyond the keys kept on the stack, under lua_pcall. */
        ENC_ERROR("local t = {} for i = 1, 3000 do t[string.rep('k', 50) .. i] = i end\n"
                  "t.zz = print return t", fmt, "result.zz: cannot transfer a function");
    }
    ENC_ERROR("return {x = 0/0}", WQ_JSON, "result.x: cannot encode NaN");
    /* An object never holds a key twice. */
    ENC_ERROR("return {[1] = 'i', ['1'] = 's'}", WQ_JSON,
              "result: keys 1 and \"1\" are the same once written as JSON");
    ENC_ERROR("return {a = {{[true] = 1, ['true'] = 2}}}", WQ_JSON,
              "result.a[1]: keys true and \"true\" are the same once written as JSON");
    ENC_ERROR("return {[1.5] = 1, ['1.5'] = 2}", WQ_JSON,
              "result: keys 1.5 and \"1.5\" are the same once written as JSON");
    ENC_ERROR("return {x = {['\\255'] = 1, ['\\254'] = 2}}", WQ_JSON,
              "result.x: keys \"\\xfe\" and \"\\xff\" are the same once written as JSON");
    ENC_ERROR("return {['\\255'] = 1, ['\\u{FFFD}'] = 2}", WQ_JSON,
              "result: keys \"\xEF\xBF\xBD\" and \"\\xff\" are the same once written as JSON");
    ENC_ERROR("local t = {} for i = 1, 3000 do t[tostring(i)] = i end t[77] = 0 return t", WQ_JSON,
              "result: keys 77 and \"77\" are the same once written as JSON");
    ENC_ERROR("return {['a\\255b'] = print}", WQ_JSON, "result[\"a\\xffb\"]: cannot transfer a function");
    ENC_ERROR("return {1, 0/0}", WQ_JSON, "result[2]: cannot encode NaN");
    /* The same errors in objects of many keys, whose keys are read back
     * from their text, or looked for again in the table. */
#define MANY "local t = {} for i = 1, 2000 do t['f' .. i] = i end "
    ENC_ERROR(MANY "t[1.5] = {[true] = {[7] = print}} return t", WQ_JSON,
              "result[1.5][true][7]: cannot transfer a function");
    ENC_ERROR(MANY "t[math.mininteger] = print return t", WQ_JSON,
              "result[-9223372036854775808]: cannot transfer a function");
    ENC_ERROR(MANY "t[false] = {0/0} return t", WQ_JSON, "result[false][1]: cannot encode NaN");
    ENC_ERROR(MANY "t[0.1] = 1/0 return t", WQ_JSON, "result[0.1]: cannot encode infinity");
    ENC_ERROR(MANY "t['a\\255b'] = print return t", WQ_JSON,
              "result[\"a\\xffb\"]: cannot transfer a function");
    ENC_ERROR(MANY "return {x = (function() t['\\255'] = 1; t['\\254'] = 2; return t end)()}", WQ_JSON,
              "result.x: keys \"\\xfe\" and \"\\xff\" are the same once written as JSON");
    ENC_ERROR(MANY "t.f7 = nil t[7] = 0 t['7'] = 1 return t", WQ_JSON,
              "result: keys 7 and \"7\" are the same once written as JSON");
#undef MANY

    ENC_ERROR("return {x = 1/0}", WQ_JSON, "result.x: cannot encode infinity");
    ENC_ERROR("return -1/0", WQ_JSON, "result: cannot encode -infinity");
    char want[200 * 6 + 2] = "";
    for (int i = 0; i < 200; i++)
        strcat(want, "{\"a\":");
    strcat(want, "1");
    for (int i = 0; i < 200; i++)
        strcat(want, "}");
    JSON("return nest(200, 1)", want);
}

/* ---- Binary round trips -------------------------------------------------- */

static void test_binary(void)
{
    static const char *const values[] = {
        "return nil", "return true", "return false", "return null", "return 0",
        "return math.mininteger", "return math.maxinteger", "return -1", "return 63",
        "return -64", "return 1 << 40", "return 0.1", "return -0.0", "return 0.0",
        "return 1/0", "return -1/0", "return 0/0", "return 2^53", "return 5e-324",
        "return ''", "return 'a\\0b\\255\\192\\0'", "return string.rep('xyz\\0', 100000)",
        "return {}", "return array({})", "return array({1, 2})", "return array({a = 1})",
        "return {1, 2, {a = {b = {}}}}", "return {[1] = 1, [3] = 3}",
        "return {[true] = false, [false] = true, [1.5] = 'x', [2^53] = 1, [-0.5] = {}}",
        "return {null, x = null, [math.mininteger] = math.maxinteger}",
        "return {['\\0'] = '\\0', ['\\xff\\xfe'] = 1}",
        "return nest(199, array({}))",
        "local t = {} for i = 1, 5000 do t[i] = i; t['k' .. i] = -i + 0.5 end return t",
    };
    for (size_t i = 0; i < sizeof values / sizeof *values; i++)
        roundtrip(values[i], __LINE__);

    /* deepeq must see what the round trips rely on. */
    if (eval("return not deepeq({}, array({})) and not deepeq(1, 1.0)"
             " and not deepeq(0.0, -0.0) and deepeq(0/0, 0/0)", __LINE__) == 0) {
        CHECK(lua_toboolean(L, -1), "deepeq tells values apart", NULL);
        lua_pop(L, 1);
    }
    /* A table with another metatable arrives as a plain table. */
    if (eval("return setmetatable({1, x = 2}, {__index = error, __pairs = error})", __LINE__) == 0) {
        encode_top(WQ_BINARY, &out, err, __LINE__);
        CHECK(wq_codec_decode(L, out.data, out.len, err) == 0 && !lua_getmetatable(L, -1),
              "other metatables are dropped", err);
        lua_pop(L, 2);
    }
}

/* ---- Binary decoding of bad input ---------------------------------------- */

static int decode_fails(const char *p, size_t n, int line)
{
    int top = lua_gettop(L);
    int r = wq_codec_decode(L, p, n, err);
    check(lua_gettop(L) == top + (r == 0), line, "wq_codec_decode stack effect", err);
    if (r == 0)
        lua_pop(L, 1);
    return r < 0;
}

static void expect_decode_error(const char *p, size_t n, const char *want, int line)
{
    int bad = decode_fails(p, n, line);
    check(bad && strcmp(err, want) == 0, line, want, err);
}

#define DEC_ERROR(bytes, want) expect_decode_error((bytes), sizeof(bytes) - 1, (want), __LINE__)

static void test_binary_bad(void)
{
    DEC_ERROR("", "bad binary value at byte 0: truncated");
    DEC_ERROR("\x63", "bad binary value at byte 0: unknown tag");
    DEC_ERROR("\x01\x01", "bad binary value at byte 1: trailing bytes");
    DEC_ERROR("\x04\x80\x80", "bad binary value at byte 3: truncated");
    DEC_ERROR("\x04\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
              "bad binary value at byte 10: varint too large");
    DEC_ERROR("\x05\x01\x02", "bad binary value at byte 1: truncated");
    DEC_ERROR("\x06\x05xy", "bad binary value at byte 2: truncated");
    DEC_ERROR("\x07\xff\xff\xff\x7f\x00\x00\x00\x00\x01\x01",
              "bad binary value at byte 1: bad table size");
    DEC_ERROR("\x07\x01\x00\x00\x00\x02\x00\x00\x00\x01\x01",
              "bad binary value at byte 1: bad table size");
    DEC_ERROR("\x07\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01",
              "bad binary value at byte 9: bad key");
    DEC_ERROR("\x07\x01\x00\x00\x00\x00\x00\x00\x00\x03\x01",
              "bad binary value at byte 9: bad key");
    DEC_ERROR("\x07\x01\x00\x00\x00\x00\x00\x00\x00\x04\x02\x00",
              "bad binary value at byte 11: nil value in a table");
    DEC_ERROR("\x07\x01\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\xf8\x7f\x01",
              "bad binary value at byte 18: NaN key");
    DEC_ERROR("\x07\x01\x00\x00\x00\x00\x00\x00\x00\x04\x02",
              "bad binary value at byte 11: truncated");

    /* Every strict prefix of a valid encoding fails; so do flipped bytes
     * (no crash, stack balanced, either an error or some value). */
    if (eval("return {1, 'two', {3.5, [true] = array({})}, x = {y = null, z = -7}}", __LINE__) == 0) {
        encode_top(WQ_BINARY, &out, err, __LINE__);
        lua_pop(L, 1);
        char *copy = malloc(out.len);
        memcpy(copy, out.data, out.len);
        int prefixes_fail = 1, balanced = 1;
        for (size_t k = 0; k < out.len; k++)
            prefixes_fail &= decode_fails(copy, k, __LINE__);
        CHECK(prefixes_fail, "every truncation fails", NULL);
        unsigned seed = 12345;
        for (int round = 0; round < 20000; round++) {
            char *m = malloc(out.len);
            memcpy(m, copy, out.len);
            for (int flips = 0; flips < 3; flips++) {
                seed = seed * 1103515245 + 12345;
                m[(seed >> 8) % out.len] = (char)(seed >> 20);
            }
            int top = lua_gettop(L);
            int r = wq_codec_decode(L, m, out.len, err);
            balanced &= lua_gettop(L) == top + (r == 0);
            lua_settop(L, top);
            free(m);
        }
        CHECK(balanced, "mutated encodings decode or fail cleanly", NULL);
        free(copy);
    }
}

static void test_binary_depth(void)
{
    size_t n = 0, cap = 202 * 11 + 1;
    char *p = malloc(cap);
    for (int levels = 200; levels <= 201; levels++) {
        n = 0;
        for (int i = 0; i < levels; i++) {
            memcpy(p + n, "\x07\x01\x00\x00\x00\x01\x00\x00\x00\x04\x02", 11);
            n += 11;
        }
        p[n++] = '\x01';
        int bad = decode_fails(p, n, __LINE__);
        if (levels == 200)
            CHECK(!bad, "200 nested tables decode", err);
        else
            CHECK(bad && strcmp(err, "bad binary value at byte 2200: nested deeper than 200 levels") == 0,
                  "201 nested tables do not", err);
    }
    free(p);
}

/* ---- Text ----------------------------------------------------------------- */

static void test_text(void)
{
    TEXT("return 'hello'", "hello");
    TEXT("return ''", "");
    TEXT("return 'a\\0b\\n'", "a\0b\n");
    TEXT("return 42", "42");
    TEXT("return math.mininteger", "-9223372036854775808");
    static const char *const numbers[] = {
        "1.5", "2.0", "-0.0", "1e100", "0.1", "2^63", "1/0", "-1/0", "1/3", "1e15", "123456.0",
    };
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++) {
        char chunk[100];
        snprintf(chunk, sizeof chunk, "return tostring(%s)", numbers[i]);
        if (eval(chunk, __LINE__) < 0)
            continue;
        size_t n;
        const char *want = lua_tolstring(L, -1, &n);
        snprintf(chunk, sizeof chunk, "return %s", numbers[i]);
        expect_output(chunk, WQ_TEXT, want, n, __LINE__);
        lua_pop(L, 1);
    }
    ENC_ERROR("return {}", WQ_TEXT, "result: lines output needs a string or a number, got table");
    ENC_ERROR("return nil", WQ_TEXT, "result: lines output needs a string or a number, got nil");
    ENC_ERROR("return true", WQ_TEXT, "result: lines output needs a string or a number, got boolean");
    ENC_ERROR("return null", WQ_TEXT, "result: lines output needs a string or a number, got userdata");
}

/* ---- JSON decoding -------------------------------------------------------- */

/* Decodes s and checks the JSON that the value encodes to. */
static void json_in(const char *s, size_t n, const char *want, size_t wantlen, int line)
{
    int top = lua_gettop(L);
    if (wq_codec_json_decode(L, s, n, err) < 0) {
        check(0, line, s, err);
        check(lua_gettop(L) == top, line, "wq_codec_json_decode stack effect", NULL);
        return;
    }
    check(lua_gettop(L) == top + 1, line, "wq_codec_json_decode stack effect", NULL);
    if (encode_top(WQ_JSON, &out, err, line) < 0)
        check(0, line, s, err);
    else
    {
        char got[200];
        snprintf(got, sizeof got, "got %.*s", (int)(out.len < 150 ? out.len : 150), out.data);
        check(out.len == wantlen && memcmp(out.data, want, out.len) == 0, line, s, got);
    }
    lua_settop(L, top);
}

#define JSON_IN(s, want) json_in((s), strlen(s), (want), strlen(want), __LINE__)

static void json_in_error(const char *s, size_t n, const char *want, int line)
{
    int top = lua_gettop(L);
    int r = wq_codec_json_decode(L, s, n, err);
    check(lua_gettop(L) == top + (r == 0), line, "wq_codec_json_decode stack effect", NULL);
    check(r < 0 && strcmp(err, want) == 0, line, want, r < 0 ? err : "decoded");
    lua_settop(L, top);
}

#define JSON_BAD(s, want) json_in_error((s), sizeof(s) - 1, (want), __LINE__)

/* Runs a Lua predicate on the value that s decodes to. */
static void json_in_is(const char *s, const char *pred, int line)
{
    int top = lua_gettop(L);
    if (wq_codec_json_decode(L, s, strlen(s), err) < 0) {
        check(0, line, s, err);
        return;
    }
    char chunk[300];
    snprintf(chunk, sizeof chunk, "local v = ... return %s", pred);
    if (luaL_loadstring(L, chunk) != LUA_OK) {
        check(0, line, chunk, lua_tostring(L, -1));
    } else {
        lua_pushvalue(L, -2);
        lua_call(L, 1, 1);
        check(lua_toboolean(L, -1), line, s, pred);
    }
    lua_settop(L, top);
}

#define JSON_IS(s, pred) json_in_is((s), (pred), __LINE__)

static void test_json_decode(void)
{
    JSON_IN(" {\"b\":1, \"a\":[1,2.5,-0,1e2,true,false,null,\"x\"]} \n",
            "{\"a\":[1,2.5,0,100.0,true,false,null,\"x\"],\"b\":1}");
    JSON_IN("[]", "[]");
    JSON_IN("{}", "{}");
    JSON_IN("[[], {}, [{}]]", "[[],{},[{}]]");
    JSON_IN("\t\r\n true \t\r\n", "true");
    JSON_IN("\"\\u00e9\\ud83d\\ude00\\n\\/\\\"\\\\\\b\\f\\r\\t\"",
            "\"\xc3\xa9\xf0\x9f\x98\x80\\n/\\\"\\\\\\b\\f\\r\\t\"");
    JSON_IN("\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"");
    JSON_IN("\"\\u0000x\"", "\"\\u0000x\"");
    JSON_IN("{\"a\":1,\"a\":2}", "{\"a\":2}");
    JSON_IN("1.5e-3", "0.0015");
    JSON_IN("-12.25E+2", "-1225.0");
    JSON_IN("9223372036854775808", "9.223372036854776e+18");
    JSON_IN("0", "0");
    JSON_IS("9223372036854775807", "v == math.maxinteger");
    JSON_IS("-9223372036854775808", "v == math.mininteger");
    JSON_IS("-9223372036854775809", "math.type(v) == 'float'");
    JSON_IS("3", "math.type(v) == 'integer'");
    JSON_IS("3.0", "math.type(v) == 'float'");
    JSON_IS("1e400", "v == math.huge");
    JSON_IS("\"\\u0000\"", "v == '\\0'");
    JSON_IS("[1,2]", "getmetatable(v) ~= nil and getmetatable(v).__name == 'luaworkq.array'");
    JSON_IS("{\"k\":null}", "v.k == null");
    JSON_IS("\"a\\u00e9\\ud83d\\ude00\"", "v == 'a\\u{e9}\\u{1F600}'");
    JSON_IS("\"0.1000000000000000055511151231257827021181583404541015625000000000000"
            "00000000000000000000000000000000000000000000000000000000000000000000\"",
            "#v > 100");
    JSON_IS("0.10000000000000000555111512312578270211815834045410156250000000000000"
            "0000000000000000000000000000000000000000000000000000000000000000001", "v == 0.1");

    JSON_BAD("", "at byte 0: unexpected end of input");
    JSON_BAD("   ", "at byte 3: unexpected end of input");
    JSON_BAD("[1,2", "at byte 4: unexpected end of input");
    JSON_BAD("[1 2]", "at byte 3: expected ',' or ']'");
    JSON_BAD("{\"a\":1 x}", "at byte 7: expected ',' or '}'");
    JSON_BAD("{\"a\" 1}", "at byte 5: expected ':'");
    JSON_BAD("{\"a\"", "at byte 4: unexpected end of input");
    JSON_BAD("{1:2}", "at byte 1: expected a string key");
    JSON_BAD("{\"a\":1,}", "at byte 7: expected a string key");
    JSON_BAD("[1,]", "at byte 3: expected a value");
    JSON_BAD("[,1]", "at byte 1: expected a value");
    JSON_BAD("1 2", "at byte 2: unexpected data after the value");
    JSON_BAD("{} x", "at byte 3: unexpected data after the value");
    JSON_BAD("\"\\x\"", "at byte 2: invalid escape");
    JSON_BAD("\"\\ud800\"", "at byte 1: lone surrogate in \\u escape");
    JSON_BAD("\"\\udc00\"", "at byte 1: lone surrogate in \\u escape");
    JSON_BAD("\"\\ud800\\u0041\"", "at byte 1: lone surrogate in \\u escape");
    JSON_BAD("\"\\ud800\\n\"", "at byte 1: lone surrogate in \\u escape");
    JSON_BAD("\"\\u12g4\"", "at byte 5: invalid \\u escape");
    JSON_BAD("\"\\u12", "at byte 5: unexpected end of input");
    JSON_BAD("\"abc", "at byte 4: unexpected end of input");
    JSON_BAD("\"a\nb\"", "at byte 2: control character in string");
    JSON_BAD("\"\xff\"", "at byte 1: invalid UTF-8 in string");
    JSON_BAD("\"\xed\xa0\x80\"", "at byte 1: invalid UTF-8 in string");
    JSON_BAD("\"\xc0\xaf\"", "at byte 1: invalid UTF-8 in string");
    JSON_BAD("01", "at byte 1: unexpected data after the value");
    JSON_BAD("-", "at byte 1: unexpected end of input");
    JSON_BAD("-a", "at byte 1: invalid number");
    JSON_BAD("+1", "at byte 0: expected a value");
    JSON_BAD("1.", "at byte 2: unexpected end of input");
    JSON_BAD("1.e5", "at byte 2: invalid number");
    JSON_BAD("1e+", "at byte 3: unexpected end of input");
    JSON_BAD(".5", "at byte 0: expected a value");
    JSON_BAD("tru", "at byte 3: unexpected end of input");
    JSON_BAD("nul1", "at byte 0: expected a value");
    JSON_BAD("NaN", "at byte 0: expected a value");
    JSON_BAD("[1,\0]", "at byte 3: expected a value");
    JSON_BAD("[1]\0", "at byte 3: unexpected data after the value");

    /* What the encoder writes, the decoder reads back to the same JSON. */
    static const char *const values[] = {
        "return {1, 'two', {3.5, x = array({})}, y = {z = null, w = -0.0}, [''] = {}}",
        "return {math.mininteger, math.maxinteger, 2^63, 1e-300, 0.1, '\\0\\1\\127\\xff\\u{10FFFF}'}",
        "return nest(200, 'leaf')",
    };
    for (size_t i = 0; i < sizeof values / sizeof *values; i++) {
        if (eval(values[i], __LINE__) < 0)
            continue;
        wq_buf first = WQ_BUF_INIT;
        if (wq_codec_encode(L, -1, WQ_JSON, "result", &first, err) < 0)
            CHECK(0, values[i], err);
        else
            json_in(first.data, first.len, first.data, first.len, __LINE__);
        wq_buf_free(&first);
        lua_pop(L, 1);
    }

    /* Depth: 200 nested arrays are fine, 201 and 10000 are not. */
    char *deep = malloc(20001);
    for (int levels = 200; levels <= 201; levels++) {
        memset(deep, '[', (size_t)levels);
        memset(deep + levels, ']', (size_t)levels);
        int top = lua_gettop(L);
        int r = wq_codec_json_decode(L, deep, 2 * (size_t)levels, err);
        lua_settop(L, top);
        CHECK(levels == 200 ? r == 0 : r < 0 && strcmp(err, "at byte 200: nested deeper than 200 levels") == 0,
              levels == 200 ? "200 nested arrays" : "201 nested arrays", err);
    }
    memset(deep, '[', 10000);
    json_in_error(deep, 10000, "at byte 200: nested deeper than 200 levels", __LINE__);
    memset(deep, ' ', 20000);
    memcpy(deep + 19990, "[1]", 3);
    json_in(deep, 20000, "[1]", 3, __LINE__);
    free(deep);
}

static void test_array_mt(void)
{
    int top = lua_gettop(L);
    wq_codec_push_array_mt(L);
    wq_codec_push_array_mt(L);
    CHECK(lua_istable(L, -1) && lua_rawequal(L, -1, -2), "one array metatable per state", NULL);
    lua_getfield(L, -1, "__name");
    CHECK(lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "luaworkq.array") == 0,
          "__name is luaworkq.array", NULL);
    lua_settop(L, top);
    lua_State *other = luaL_newstate();
    wq_codec_push_array_mt(other);
    wq_codec_push_array_mt(L);
    CHECK(lua_topointer(other, -1) != lua_topointer(L, -1), "each state has its own", NULL);
    lua_close(other);
    lua_settop(L, top);
}

/* ---- Running out of memory ----------------------------------------------- */

static size_t mem_used, mem_limit = (size_t)-1;

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        mem_used -= old;
        free(ptr);
        return NULL;
    }
    if (nsize > old && mem_used + (nsize - old) > mem_limit)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        mem_used = mem_used - old + nsize;
    return p;
}

/* With no memory left, every function fails with a message instead of
 * raising, and leaves the stack as it was. */
static void test_out_of_memory(void)
{
    lua_State *S = lua_newstate(limited_alloc, NULL);
    luaL_openlibs(S);
    wq_buf json = WQ_BUF_INIT, bin = WQ_BUF_INIT;
    if (luaL_dostring(S, "local t = {} for i = 1, 3000 do t[string.rep('k', 50) .. i] = {i} end"
                         " return t") != LUA_OK) {
        CHECK(0, "out of memory setup", lua_tostring(S, -1));
        lua_close(S);
        return;
    }
    char e[WQ_ERRLEN];
    CHECK(wq_codec_encode(S, -1, WQ_JSON, "result", &json, e) == 0, "encode with memory", e);
    CHECK(wq_codec_encode(S, -1, WQ_BINARY, "result", &bin, e) == 0, "encode with memory", e);
    lua_gc(S, LUA_GCCOLLECT);
    mem_limit = mem_used;
    int top = lua_gettop(S);
    wq_buf o = WQ_BUF_INIT;
    int r = wq_codec_encode(S, -1, WQ_JSON, "result", &o, e);
    CHECK(r < 0 && strcmp(e, "result: not enough memory") == 0, "encode without memory", e);
    r = wq_codec_json_decode(S, json.data, json.len, e);
    CHECK(r < 0 && strcmp(e, "not enough memory") == 0, "JSON decode without memory", e);
    r = wq_codec_decode(S, bin.data, bin.len, e);
    CHECK(r < 0 && strcmp(e, "not enough memory") == 0, "binary decode without memory", e);
    CHECK(lua_gettop(S) == top, "stack kept without memory", NULL);
    mem_limit = (size_t)-1;
    r = wq_codec_json_decode(S, json.data, json.len, e);
    CHECK(r == 0, "the state works again", e);
    lua_close(S);
    wq_buf_free(&json);
    wq_buf_free(&bin);
    wq_buf_free(&o);
}

/* ---- Bench ---------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench(const char *chunk, enum wq_format fmt, int decode)
{
    const int n = 1000000;
    if (eval(chunk, __LINE__) < 0)
        return;
    wq_buf b = WQ_BUF_INIT;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        wq_buf_reset(&b);
        if (wq_codec_encode(L, -1, fmt, "result", &b, err) < 0)
            abort();
    }
    double t1 = now();
    printf("encode %-6s %6.1f ns  %s\n", fmt == WQ_JSON ? "json" : "binary",
           (t1 - t0) * 1e9 / n, chunk);
    if (decode) {
        t0 = now();
        for (int i = 0; i < n; i++) {
            if ((fmt == WQ_JSON ? wq_codec_json_decode : wq_codec_decode)(L, b.data, b.len, err) < 0)
                abort();
            lua_pop(L, 1);
        }
        t1 = now();
        printf("decode %-6s %6.1f ns  (%zu bytes)\n", fmt == WQ_JSON ? "json" : "binary",
               (t1 - t0) * 1e9 / n, b.len);
    }
    wq_buf_free(&b);
    lua_pop(L, 1);
}

static void run_bench(void)
{
    static const char *const chunks[] = {
        "return {len = #'some input line', word = 'abc'}",
        "return {id = 12345, name = 'alpha', score = 0.75, tags = {'x', 'y'}, ok = true}",
        "return 'just a string result of moderate length'",
    };
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
        bench(chunks[i], WQ_JSON, 1);
        bench(chunks[i], WQ_BINARY, 1);
    }
}

int main(int argc, char **argv)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    wq_codec_pushnull(L);
    lua_setglobal(L, "null");
    lua_register(L, "array", array_fn);
    lua_register(L, "tojson", tojson_fn);
    lua_register(L, "fromjson", fromjson_fn);
    if (luaL_dostring(L, prelude) != LUA_OK) {
        printf("prelude: %s\n", lua_tostring(L, -1));
        return 1;
    }
    if (argc > 1 && strcmp(argv[1], "bench") == 0) {
        run_bench();
    } else {
        test_json();
        test_json_big();
        test_json_small();
        test_encode_errors();
        test_binary();
        test_binary_bad();
        test_binary_depth();
        test_text();
        test_json_decode();
        test_array_mt();
        test_out_of_memory();
        CHECK(lua_gettop(L) == 0, "the test leaves the stack empty", NULL);
        printf("codec: %d passed, %d failed\n", passed, failed);
    }
    lua_close(L);
    wq_buf_free(&out);
    return failed ? 1 : 0;
}
