/*
 * main.c - the command line: parse options, run, map the outcome to the
 * exit code. Everything else is in run.c.
 */
#define _GNU_SOURCE  /* sched_getaffinity */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <getopt.h>
#include <limits.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "chunk.h"
#include "decompress.h"
#include "format.h"
#include "hint.h"
#include "input.h"
#include "paths.h"
#include "report.h"
#include "run.h"
#include "tmpfile.h"

#define MAX_JOBS 1024

/* Exit codes: see the README and luaworkq(1). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static char **wq_argv;  /* for messages about refused options */

/* The help text, before and after the line of -f, whose names come from
 * format.h (help). */
static const char usage[] =
    "usage: luaworkq [OPTIONS] JOB.lua [ITEMS ...]\n"
    "Runs JOB.lua's process(item, index) over every item (one per line of the\n"
    "ITEMS files, or of standard input) on a pool of threads, and writes the\n"
    "results in input order, or folded by the job's merge.\n"
    "\n"
    "  -j, --jobs N           worker threads (default: the CPUs it may run on)\n"
    "  -0, --null             items are separated by NUL bytes\n"
    "  -d, --delimiter STR    items are separated by STR (escapes \\n \\t \\r \\0 \\\\ \\xHH)\n"
    "      --paragraph        an item is a block of lines ended by a blank line\n"
    "      --whole-files      each ITEMS file is one item, its whole content\n"
    "      --chunk N          process gets up to N consecutive items as an array\n"
    "      --csv, --tsv       an item is a CSV (RFC 4180) or TSV record: an array\n"
    "                         of its fields\n"
    "      --header           with --csv/--tsv: each file's first record names the\n"
    "                         fields; items are tables keyed by those names\n"
    "      --max-record SIZE  the longest record, in bytes or with a K, M or G\n"
    "                         suffix (KiB, MiB, GiB); a longer one fails as its\n"
    "                         item (default 1G, or a quarter of the memory\n"
    "                         available if that is less)\n"
    "      --ndjson-in        each item is a JSON value, decoded for process\n"
    "      --zstd-long=N      read zstd input whose window is up to 2^N bytes\n"
    "                         (10..31; as zstd -d --long=N; default 27, 128 MiB)\n"
    "  -o, --output FILE      write the result to FILE (never half-written)\n";
static const char usage_rest[] =
    "      --unordered        write list results as they finish\n"
    "  -k, --keep-going       report a failing item and go on\n"
    "      --max-failures N|P%  with -k: stop once more than N items (or P%)\n"
    "                         have failed\n"
    "      --partial          after a stop, write the merged value of the items done\n"
    "      --errors FILE      with -k: one NDJSON record per failed item\n"
    "      --retries N        run a failing item up to N more times\n"
    "      --timeout SEC      an item running longer than SEC fails\n"
    "      --memory-limit MB  cap on each worker's Lua heap\n"
    "      --journal FILE     record finished items; rerunning resumes\n"
    "      --retry-failed     with --journal: rerun the items it records as failed,\n"
    "                         also with a fixed job script; keep the other results\n"
    "      --joblog FILE      one line per finished item, GNU parallel's columns\n"
    "      --dry-run          list the items that would run (SOURCE:LINE<TAB>item);\n"
    "                         run no hook\n"
    "      --shard K/N        process only items with (index - 1) mod N = K - 1\n"
    "      --merge            ITEMS are shard journals: write the whole run's output\n"
    "      --set KEY=VALUE    luaworkq.args.KEY = VALUE (repeatable)\n"
    "      --progress         a self-updating progress line on stderr (default\n"
    "      --no-progress      when stderr is a terminal), or none\n"
    "  -q, --quiet            no progress, no summary; errors still go to stderr\n"
    "      --stats            print a run summary on stderr\n"
    "      --check            load the job, check its hooks, process nothing\n"
    "  -h, --help             this text\n"
    "  -V, --version          the version\n"
    "\n"
    "Compressed inputs (gzip, xz, zstd) are read decompressed, as gzip -d,\n"
    "xz -d and zstd -d read them. Options may follow JOB.lua and ITEMS; --\n"
    "ends them.\n"
    "\n"
    "Exit: 0 all items succeeded, 1 an item or hook failed, 2 usage or setup\n"
    "error, 130/143 stopped by SIGINT/SIGTERM, 141 the output pipe closed.\n";

enum { OPT_NDJSON_IN = 256, OPT_UNORDERED, OPT_ERRORS, OPT_RETRIES,
       OPT_TIMEOUT, OPT_MEMORY, OPT_SET, OPT_STATS, OPT_CHECK,
       OPT_PROGRESS, OPT_NO_PROGRESS, OPT_JOURNAL, OPT_SHARD, OPT_MERGE,
       OPT_PARAGRAPH, OPT_CSV, OPT_TSV, OPT_HEADER, OPT_PARTIAL, OPT_MAX_FAILURES,
       OPT_ZSTD_LONG, OPT_MAX_RECORD, OPT_JOBLOG, OPT_RETRY_FAILED, OPT_DRY_RUN,
       OPT_WHOLE_FILES, OPT_CHUNK };

static const struct option longopts[] = {
    {"jobs", required_argument, NULL, 'j'},
    {"null", no_argument, NULL, '0'},
    {"delimiter", required_argument, NULL, 'd'},
    {"paragraph", no_argument, NULL, OPT_PARAGRAPH},
    {"whole-files", no_argument, NULL, OPT_WHOLE_FILES},
    {"chunk", required_argument, NULL, OPT_CHUNK},
    {"csv", no_argument, NULL, OPT_CSV},
    {"tsv", no_argument, NULL, OPT_TSV},
    {"header", no_argument, NULL, OPT_HEADER},
    {"max-record", required_argument, NULL, OPT_MAX_RECORD},
    {"ndjson-in", no_argument, NULL, OPT_NDJSON_IN},
    {"zstd-long", required_argument, NULL, OPT_ZSTD_LONG},
    {"output", required_argument, NULL, 'o'},
    {"format", required_argument, NULL, 'f'},
    {"unordered", no_argument, NULL, OPT_UNORDERED},
    {"keep-going", no_argument, NULL, 'k'},
    {"errors", required_argument, NULL, OPT_ERRORS},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"memory-limit", required_argument, NULL, OPT_MEMORY},
    {"journal", required_argument, NULL, OPT_JOURNAL},
    {"retry-failed", no_argument, NULL, OPT_RETRY_FAILED},
    {"joblog", required_argument, NULL, OPT_JOBLOG},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"merge", no_argument, NULL, OPT_MERGE},
    {"partial", no_argument, NULL, OPT_PARTIAL},
    {"max-failures", required_argument, NULL, OPT_MAX_FAILURES},
    {"set", required_argument, NULL, OPT_SET},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"quiet", no_argument, NULL, 'q'},
    {"stats", no_argument, NULL, OPT_STATS},
    {"check", no_argument, NULL, OPT_CHECK},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0}
};

/* Parses a whole decimal integer in [min, max]. */
static int parse_int(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        wq_reportf("%s: '%s' is not a whole number from %ld to %ld", opt, s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* --max-record SIZE: a whole number of bytes, or of KiB, MiB or GiB with
 * a K, M or G suffix (KiB, MiB, GiB are taken too), from 1 byte to 1 TiB. */
static int parse_size(const char *s, size_t *out)
{
    static const char units[] = "KMG";
    char *end;
    errno = 0;
    unsigned long long v = s[0] >= '0' && s[0] <= '9' ? strtoull(s, &end, 10) : 0;
    int c = v ? toupper((unsigned char)*end) : 0;
    const char *unit = c ? strchr(units, c) : NULL;
    int shift = unit ? 10 * (int)(unit - units + 1) : 0;
    const char *rest = unit ? end + 1 : v ? end : s;
    if (unit && strcmp(rest, "iB") == 0)
        rest += 2;
    if (errno || v == 0 || *rest || v > (1ull << 40) >> shift) {
        wq_reportf("--max-record: '%s' is not a size: a whole number of bytes, or of "
                   "KiB, MiB or GiB with a K, M or G after it, from 1 to 1024G", s);
        return -1;
    }
    *out = (size_t)(v << shift);
    return 0;
}

static int parse_seconds(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0 && v < 1e9)) {
        wq_reportf("%s: '%s' is not a positive number of seconds", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_shard(const char *s, wq_opts *o)
{
    int k, n, end = 0;
    if (sscanf(s, "%d/%d%n", &k, &n, &end) != 2 || s[end] || n < 1 || k < 1 || k > n) {
        wq_reportf("--shard: '%s' is not K/N with 1 <= K <= N", s);
        return -1;
    }
    o->shard_k = k;
    o->shard_n = n;
    return 0;
}

/* --help: the usage text, naming the result formats of format.h's table. */
static void help(void)
{
    wq_buf names = WQ_BUF_INIT;
    wq_outformat_list(&names, " (default)");
    fputs(usage, stdout);
    printf("  -f, --format FMT       %s\n", names.data ? names.data : "");
    fputs(usage_rest, stdout);
    wq_buf_free(&names);
}

/* -f NAME: a row of format.h's table of result formats. */
static int parse_format(const char *s, wq_opts *o)
{
    const wq_outformat *f = wq_outformat_find(s);
    if (f) {
        o->format = f;
        return 0;
    }
    wq_buf names = WQ_BUF_INIT;
    wq_outformat_list(&names, "");
    wq_reportf("--format: '%s' is not %s", s, names.data ? names.data : "");
    wq_buf_free(&names);
    return -1;
}

/* Sets what an item format option (format.h) sets; two different framings
 * on one command line are refused. */
static int item_format(wq_opts *o, const wq_informat *in, const char *arg)
{
    static const wq_informat *given;
    if (in->framing && given && given != in) {
        wq_reportf("%s and %s are two record formats: give one", given->option,
                   in->option);
        return -1;
    }
    if (in->framing)
        given = in;
    wq_buf err = WQ_BUF_INIT;
    int rc = wq_informat_apply(in, arg, &o->job.rec, &err);
    if (rc < 0)
        wq_reportf("%.*s", (int)err.len, err.data);
    wq_buf_free(&err);
    return rc;
}

/* The entry of longopts with value val and the given has_arg, or NULL. */
static const struct option *long_option(int val, int has_arg)
{
    for (const struct option *l = longopts; l->name; l++)
        if (l->val == val && l->has_arg == has_arg)
            return l;
    return NULL;
}

/* The long option nearest to name[0..len) (hint.h), or NULL. */
static const char *near_option(const char *name, size_t len)
{
    enum { MAX = sizeof longopts / sizeof *longopts };
    const char *names[MAX];
    int n = 0;
    for (const struct option *l = longopts; l->name && n < MAX; l++)
        names[n++] = l->name;
    return wq_hint_nearest(name, len, names, n, 2);
}

/* Refuses an unknown long option (name: what follows "--", up to any "=")
 * or one that abbreviates several, naming them, or the one it is near. */
static void refuse_long(const char *name)
{
    size_t len = strcspn(name, "=");
    wq_buf several = WQ_BUF_INIT;
    int n = 0;
    const char *near;
    for (const struct option *l = longopts; l->name; l++)
        if (strncmp(l->name, name, len) == 0)
            wq_buf_printf(&several, "%s--%s", n++ ? ", " : "", l->name);
    if (n > 1 && len > 0)
        wq_reportf("--%.*s is ambiguous: %s", (int)len, name, several.data);
    else if ((near = near_option(name, len)))
        wq_reportf("unknown option --%.*s; did you mean --%s? (see luaworkq --help)",
                   (int)len, name, near);
    else
        wq_reportf("unknown option --%.*s (see luaworkq --help)", (int)len, name);
    wq_buf_free(&several);
}

/* Reports, on one line, the option getopt_long just refused with c ('?' or
 * ':'), a long one by its full name. getopt_long has stepped past a long
 * option it refuses, and past a short one missing its value, which ends
 * the command line: either is wq_argv[optind - 1]. A short option it does
 * not know may sit inside a cluster (-kZ) that optind has not passed, and
 * is named by optopt alone. A no-value option is refused only when it was
 * given a value (--csv=1), so finding optopt among those means that. */
static void refuse_option(int c)
{
    const char *arg = wq_argv[optind - 1];
    int is_long = strncmp(arg, "--", 2) == 0;
    const struct option *l;
    if (c == ':' && is_long && (l = long_option(optopt, required_argument)))
        wq_reportf("--%s needs a value", l->name);
    else if (c == ':')
        wq_reportf("-%c needs a value", optopt);
    else if (optopt == 0)
        refuse_long(arg + 2);
    else if ((l = long_option(optopt, no_argument)))
        wq_reportf("--%s takes no value", l->name);
    else
        wq_reportf("unknown option -%c (see luaworkq --help)", optopt);
}

/* How messages spell option c: by its short name if it has one ("-0"),
 * else by its long name ("--csv"). */
static const char *spelling(int c, char *buf, size_t size)
{
    const struct option *l = NULL;
    for (const struct option *p = longopts; p->name && c >= 256 && !l; p++)
        if (p->val == c)
            l = p;
    if (l)
        snprintf(buf, size, "--%s", l->name);
    else
        snprintf(buf, size, "-%c", c);
    return buf;
}

/* Parses one option into o. Returns 0, 1 to exit 0 at once (help,
 * version), or -1 on a usage error (reported). */
static int parse_option(int c, const char *arg, wq_opts *o)
{
    long n;
    char name[32];
    const wq_informat *in = wq_informat_find(spelling(c, name, sizeof name));
    if (in)
        return item_format(o, in, arg);
    switch (c) {
    case 'j':
        if (parse_int("--jobs", arg, 1, MAX_JOBS, &n) < 0)
            return -1;
        o->job.workers = (int)n;
        return 0;
    case OPT_HEADER: o->job.rec.header = 1; return 0;
    case OPT_CHUNK:
        if (parse_int("--chunk", arg, 1, WQ_CHUNK_MAX, &n) < 0)
            return -1;
        o->job.rec.chunk = (uint32_t)n;
        return 0;
    case OPT_MAX_RECORD: return parse_size(arg, &o->job.rec.max);
    case OPT_ZSTD_LONG:
        if (parse_int("--zstd-long", arg, WQ_ZSTD_LONG_MIN, WQ_ZSTD_LONG_MAX, &n) < 0)
            return -1;
        o->job.rec.zstd_window_log = (int)n;
        return 0;
    case 'o': o->output = arg; return 0;
    case 'f': return parse_format(arg, o);
    case OPT_UNORDERED: o->unordered = 1; return 0;
    case 'k': o->keep_going = 1; return 0;
    case OPT_ERRORS: o->errors = arg; return 0;
    case OPT_RETRIES:
        if (parse_int("--retries", arg, 0, 1000000, &n) < 0)
            return -1;
        o->retries = (int)n;
        return 0;
    case OPT_TIMEOUT: return parse_seconds("--timeout", arg, &o->job.timeout);
    case OPT_MEMORY:
        if (parse_int("--memory-limit", arg, 1, 1 << 20, &n) < 0)
            return -1;
        o->job.memory_limit = (size_t)n << 20;
        return 0;
    case OPT_SET:
        if (!strchr(arg, '=') || arg[0] == '=') {
            wq_reportf("--set: '%s' is not KEY=VALUE", arg);
            return -1;
        }
        o->job.sets[o->job.nsets++] = (char *)arg;
        return 0;
    case OPT_PROGRESS: o->progress = 1; return 0;
    case OPT_NO_PROGRESS: o->progress = 0; return 0;
    case 'q': o->quiet = 1; return 0;
    case OPT_STATS: o->stats = 1; return 0;
    case OPT_CHECK: o->check = 1; return 0;
    case OPT_JOURNAL: o->journal = arg; return 0;
    case OPT_RETRY_FAILED: o->retry_failed = 1; return 0;
    case OPT_JOBLOG: o->joblog = arg; return 0;
    case OPT_DRY_RUN: o->dry_run = 1; return 0;
    case OPT_SHARD: return parse_shard(arg, o);
    case OPT_MERGE: o->merge = 1; return 0;
    case OPT_PARTIAL: o->partial = 1; return 0;
    case OPT_MAX_FAILURES:
        if (wq_maxfail_parse(arg, &o->max_failures) < 0) {
            wq_reportf("--max-failures: '%s' is not a whole number N or a percentage P%%"
                       " (0 <= P < 100)", arg);
            return -1;
        }
        return 0;
    case 'h': help(); return 1;
    case 'V': printf("luaworkq %s (%s)\n", LUAWORKQ_VERSION, LUA_VERSION); return 1;
    default:  /* '?' or ':' */
        refuse_option(c);
        return -1;
    }
}

/* Options that cannot go together. Returns 0 or -1 (reported). */
static int check_combination(const wq_opts *o)
{
    const char *clash = NULL;
    wq_buf err = WQ_BUF_INIT;
    if (wq_informat_check(&o->job.rec, &err) < 0)
        clash = err.data ? err.data : "out of memory";
    else if (o->errors && !o->keep_going)
        clash = "--errors needs -k";
    else if (o->max_failures.set && !o->keep_going)
        clash = "--max-failures needs -k (without -k the first failure stops the run)";
    else if (o->journal && o->unordered)
        clash = "--journal keeps results in input order: it cannot go with --unordered";
    else if (o->merge && (o->journal || o->shard_n > 1))
        clash = "--merge reads journals: it cannot go with --journal or --shard";
    else if (o->merge && (o->joblog || o->dry_run))
        clash = "--merge runs no item: it cannot go with --joblog or --dry-run";
    else if (o->retry_failed && !o->journal)
        clash = "--retry-failed reruns what a journal records as failed: it needs --journal";
    else if (o->joblog && strcmp(o->joblog, "-") == 0)
        clash = "--joblog -: standard output carries the results; give the log a file";
    if (clash)
        wq_reportf("%s", clash);
    wq_buf_free(&err);
    return clash ? -1 : 0;
}

/* Refuses a run whose job is standard input (which carries the items), or
 * whose outputs are one file, or overwrite the job or an input, before
 * anything is opened. Returns 0 or -1 (reported). */
static int check_paths(const wq_opts *o)
{
    if (strcmp(o->job.path, "-") == 0) {
        wq_reportf("the job script cannot be standard input ('-'): give its file");
        return -1;
    }
    wq_path *p = calloc((size_t)o->ninputs + 5, sizeof *p);
    wq_buf err = WQ_BUF_INIT;
    int n = 0, rc = -1;
    if (p) {
        p[n++] = (wq_path){o->output, "-o", 1};
        p[n++] = (wq_path){o->journal, "--journal", 1};
        p[n++] = (wq_path){o->errors, "--errors", 1};
        p[n++] = (wq_path){o->joblog, "--joblog", 1};
        p[n++] = (wq_path){o->job.path, "the job script", 0};
        for (int i = 0; i < o->ninputs; i++)
            p[n++] = (wq_path){o->inputs[i], "the input", 0};
        rc = wq_paths_check(p, n, &err);
        if (rc == 0)
            rc = wq_paths_check_stdout(p, n, &err);
    }
    if (rc < 0)
        wq_reportf("%s", err.data ? err.data : "out of memory");
    wq_buf_free(&err);
    free(p);
    return rc;
}

/* Removes what killed runs left of -o FILE and --errors FILE: temporary
 * files that no running process holds. */
static void sweep(const wq_opts *o)
{
    const char *files[] = {o->output, o->errors};
    for (int i = 0; i < 2; i++)
        if (files[i] && strcmp(files[i], "-") != 0)
            wq_tmpfile_sweep(files[i]);
}

/* Standard input that is a terminal gets a hint before it is read: a run
 * waiting without a word looks hung. The items are typed where the cursor
 * is, so no progress line is drawn there. */
static void hint(wq_opts *o)
{
    int stdin_read = o->ninputs == 0;
    for (int i = 0; i < o->ninputs; i++)
        stdin_read |= strcmp(o->inputs[i], "-") == 0;
    if (!stdin_read || o->check || o->merge || !isatty(STDIN_FILENO))
        return;
    o->progress = 0;
    if (!o->quiet)
        wq_reportf("reading items from the terminal: type them, then Ctrl-D to end");
}

/* The one place outcomes become exit codes. */
static int exit_code(enum wq_outcome outcome)
{
    switch (outcome) {
    case WQ_OUTCOME_OK: return EXIT_OK;
    case WQ_OUTCOME_FAILED: return EXIT_FAILED;
    case WQ_OUTCOME_REFUSED: return EXIT_USAGE;
    case WQ_OUTCOME_PIPE: return 128 + SIGPIPE;  /* as if ended by SIGPIPE */
    case WQ_OUTCOME_SIGINT: return 128 + SIGINT;
    case WQ_OUTCOME_SIGTERM: return 128 + SIGTERM;
    }
    return EXIT_FAILED;
}

/* The CPUs this process may run on (a Slurm allocation, a container's
 * cpuset, taskset), as nproc(1) counts them. */
static int usable_cpus(void)
{
    cpu_set_t set;
    long n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                         : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_JOBS ? MAX_JOBS : (int)n;
}

int main(int argc, char **argv)
{
    wq_argv = argv;
    wq_opts o = {.format = wq_outformat_find(NULL), .shard_k = 1, .shard_n = 1,
                 .progress = isatty(STDERR_FILENO)};
    o.job.workers = o.cpus = usable_cpus();
    o.job.sets = calloc((size_t)argc, sizeof *o.job.sets);
    int c, rc = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":j:0d:o:f:kqhV", longopts, NULL)) != -1)
        rc = parse_option(c, optarg, &o);
    if (rc == 0 && optind >= argc) {
        wq_reportf("no job script given (see luaworkq --help)");
        rc = -1;
    }
    if (rc == 0)
        rc = check_combination(&o);
    if (rc == 0 && !o.job.rec.max)
        o.job.rec.max = wq_input_max_default();
    if (o.quiet)
        o.progress = 0;
    if (rc == 0) {
        o.job.path = argv[optind];
        o.inputs = argv + optind + 1;
        o.ninputs = argc - optind - 1;
        if (o.job.rec.header && !(o.job.rec.headers = wq_headers_new(o.ninputs))) {
            wq_reportf("out of memory");
            rc = EXIT_USAGE;
        } else if (check_paths(&o) < 0) {
            rc = EXIT_USAGE;
        } else {
            sweep(&o);
            hint(&o);
            rc = exit_code(wq_run(&o));
        }
    } else {
        rc = rc > 0 ? EXIT_OK : EXIT_USAGE;
    }
    free(o.job.sets);
    wq_headers_free(o.job.rec.headers);
    return rc;
}
