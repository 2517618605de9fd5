/*
 * run.c - one run, from loaded job to outcome; see run.h.
 *
 * Threads: the main thread runs the host state (setup, merge, finish) and
 * the writer stage; the reader stage and the workers have threads of their
 * own, and the stop's watch thread takes the signals and checks timeouts.
 * Registry slots of the stop: 0 the host, 1..N the workers, N + 1 the reader.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "batch.h"
#include "input.h"
#include "joblog.h"
#include "journal.h"
#include "output.h"
#include "progress.h"
#include "proctree.h"
#include "queue.h"
#include "reader.h"
#include "report.h"
#include "shards.h"
#include "summary.h"
#include "worker.h"
#include "writer.h"

struct run {
    wq_opts *o;
    const char **names;       /* each input's name, for every module */
    wq_inputs inputs;         /* the files with those names */
    int fold;                 /* the job has merge or reduce */
    int reduce;               /* the job has reduce */
    wq_lua *host;
    wq_shared *shared;        /* setup's value, freed after every state */
    wq_jheader header;        /* the journal's, for --journal and --merge */
    wq_journal *journal;      /* --journal, or NULL */
    wq_stop *stop;
    wq_queue *queue;
    wq_order *order;
    wq_spares *spares;
    _Atomic int64_t item_ns;  /* the workers' recent cost of an item */
    wq_shuffle *shuffle;      /* with reduce: the keys' partitions */
    wq_shardset *shards;      /* --merge of a keyed reduce: its items */
    wq_pool *pool;
    wq_reader *reader;
    wq_writer *writer;
    wq_out *out, *errors;     /* the results, --errors FILE */
    wq_joblog *joblog;        /* --joblog FILE, or NULL */
    wq_progress *progress;    /* the progress line, or NULL */
    int64_t started;          /* ns */
    int value;                /* the merged value was written */
    int out_kept;             /* -o FILE was put in place (not a device) */
    wq_maxfail_count failures;  /* --max-failures: the workers' count */
};

/* The longest job script: one that reads past it (/dev/zero given as the
 * job, an items file swapped for it) is refused before it fills memory. */
#define JOB_MAX (64u << 20)

/* Reads the job script whole, up to JOB_MAX; it is loaded from memory in
 * every state. Returns 0, or -1 (reported). */
static int read_job(wq_jobconf *job, wq_buf *src)
{
    int fd = open(job->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int known = fd >= 0 && fstat(fd, &st) == 0;
    if (known && S_ISDIR(st.st_mode)) {
        close(fd);
        wq_reportf("cannot load %s: is a directory", job->path);
        return -1;
    }
    char chunk[65536];
    ssize_t n = fd < 0 ? -1 : 0;
    int too_long = known && S_ISREG(st.st_mode) && (uint64_t)st.st_size > JOB_MAX;
    while (fd >= 0 && !too_long &&
           ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))) {
        too_long = n > 0 && src->len + (size_t)n > JOB_MAX;
        if (n > 0 && !too_long && wq_buf_add(src, chunk, (size_t)n) < 0)
            break;
    }
    if (n < 0)
        wq_reportf("cannot open %s: %s", job->path, strerror(errno));
    else if (too_long)
        wq_reportf("cannot load %s: longer than %u MiB, the bound on a job script",
                   job->path, JOB_MAX >> 20);
    if (fd >= 0)
        close(fd);
    job->source = src->data ? src->data : "";
    job->source_len = src->len;
    return n < 0 || too_long ? -1 : 0;
}

/* Names the inputs once, for the reader, the writer's reports and where():
 * a file by its path, standard input ("-", or no file at all) "stdin".
 * Returns 0, or -1 when out of memory. */
static int name_inputs(struct run *r)
{
    const wq_opts *o = r->o;
    int n = o->ninputs > 0 ? o->ninputs : 1;
    if (!(r->names = calloc((size_t)n, sizeof *r->names)))
        return -1;
    for (int i = 0; i < n; i++)
        r->names[i] = o->ninputs == 0 || strcmp(o->inputs[i], "-") == 0 ? "stdin"
                                                                        : o->inputs[i];
    r->inputs = (wq_inputs){.paths = o->inputs, .names = r->names, .n = o->ninputs};
    r->o->job.names = r->names;
    return 0;
}

/* -f csv/tsv: what every state shares to write rows (csvout.h). */
static int open_table(wq_opts *o, wq_buf *err)
{
    wq_csvout_conf c = {.tsv = o->format->layout == WQ_LAYOUT_TSV,
                        .unordered = o->unordered, .rec = &o->job.rec, .shards = o->merge};
    if (wq_frame_table(o->format->layout) && !(o->job.csv = wq_csvout_new(&c)))
        wq_buf_adds(err, "out of memory");
    return err->len ? -1 : 0;
}

/* Checks the inputs and loads the job in the host state (not for a dry
 * run, which runs no Lua). */
static int load(struct run *r, wq_buf *err)
{
    if (!r->o->merge && wq_input_check(r->o->inputs, r->o->ninputs, err) < 0)
        return -1;
    if (r->o->dry_run)
        return 0;
    if (open_table(r->o, err) < 0)
        return -1;
    if (!(r->host = wq_lua_open(&r->o->job, 0, err)))
        return -1;
    r->reduce = wq_lua_has(r->host, WQ_REDUCE);
    r->fold = r->reduce || wq_lua_has(r->host, WQ_MERGE);
    return 0;
}

/* The journal header: the job, and every option that changes results. */
static void make_header(struct run *r)
{
    const wq_opts *o = r->o;
    wq_jheader *h = &r->header;
    h->job = wq_journal_hash(o->job.source, o->job.source_len);
    wq_jheader_option(h, "format", o->format->journal);
    char records[WQ_INFORMAT_NAME];
    wq_informat_name(&o->job.rec, records, sizeof records);
    wq_jheader_option(h, "separator", records);
    wq_jheader_option(h, "ndjson-in", o->job.rec.decode == WQ_DECODE_JSON ? "yes" : "no");
    for (int i = 0; i < o->job.nsets; i++)
        wq_jheader_option(h, "set", o->job.sets[i]);
    h->shard_k = o->shard_k;
    h->shard_n = o->shard_n;
}

/* Creates the journal, the stop, the queue, the window and the stages. */
static int build(struct run *r, wq_buf *err)
{
    wq_opts *o = r->o;
    int workers = o->job.workers, window = 4 * workers + 4;
    wq_journal *(*open_journal)(const char *, const wq_jheader *, wq_buf *) =
        o->retry_failed ? wq_journal_open_fixed : wq_journal_open;
    if (o->journal && !(r->journal = open_journal(o->journal, &r->header, err)))
        return -1;
    r->stop = wq_stop_new(workers + 2);
    r->queue = wq_queue_new((size_t)window);
    /* The writer ready for a batch a CPU is as far behind as it may get. */
    size_t ahead = o->cpus > 2 ? (size_t)o->cpus : 2;
    r->order = wq_order_new(WQ_WINDOW_SLOTS, WQ_WINDOW_BYTES, ahead, o->unordered && !r->fold);
    r->spares = wq_spares_new();
    if (r->reduce && r->queue && r->spares)
        r->shuffle = wq_shuffle_new(workers, WQ_WINDOW_BYTES, r->queue, r->spares);
    if (o->job.csv)
        wq_csvout_set_order(o->job.csv, r->order);
    if (o->keep_going && o->max_failures.set &&
        wq_maxfail_count_init(&r->failures, &o->max_failures) < 0)
        r->failures.bound = NULL;
    if (r->stop && r->queue && r->order && r->spares && (r->shuffle || !r->reduce)) {
        wq_poolconf pc = {
            .job = &o->job, .layout = o->format->layout, .format = o->format->encoding,
            .fold = r->fold, .shuffle = r->shuffle,
            .keep_going = o->keep_going, .retries = o->retries,
            .failures = r->failures.bound ? &r->failures : NULL,
            .facts = o->joblog || o->retries > 0 || r->failures.bound != NULL, .timing = o->joblog != NULL,
            .stop = r->stop, .queue = r->queue, .order = r->order, .item_ns = &r->item_ns,
        };
        wq_readconf rc = {
            .inputs = &r->inputs, .fmt = &o->job.rec,
            .shard_k = o->shard_k, .shard_n = o->shard_n, .fold = r->fold,
            .workers = workers, .cpus = o->cpus, .window = window,
            .journal = r->journal, .journal_path = o->journal,
            .stop = r->stop, .slot = workers + 1, .queue = r->queue, .order = r->order,
            .spares = r->spares, .item_ns = &r->item_ns, .shards = r->shards,
            .keep_going = o->keep_going || r->shards,  /* a merge reports them all */
        };
        r->pool = wq_pool_new(&pc);
        r->reader = wq_reader_new(&rc);
    }
    if (r->pool && r->reader)
        return 0;
    wq_buf_adds(err, "out of memory");
    return -1;
}

/* Opens --joblog FILE (appended to when the run resumes its journal),
 * --errors FILE and the output, or none of them. */
static int open_outputs(struct run *r, wq_buf *err)
{
    wq_opts *o = r->o;
    int resumed = r->journal && wq_journal_resumed(r->journal);
    if (o->joblog && !(r->joblog = wq_joblog_open(o->joblog, resumed, err)))
        return -1;
    if (!o->errors || (r->errors = wq_out_open(o->errors, WQ_LAYOUT_NDJSON, 1, err)))
        r->out = wq_out_open(o->output, o->format->layout, !r->fold, err);
    if (!r->out && r->errors) {
        wq_out_close(r->errors, 0, err);
        r->errors = NULL;
    }
    if (!r->out) {
        wq_joblog_close(r->joblog, err);
        r->joblog = NULL;
    }
    return r->out ? 0 : -1;
}

/* Whether the merged value (or a reduce's keys) is written, as the stop
 * says. */
static int value_wanted(const struct run *r)
{
    wq_stop_effect effect = wq_stop_effect_of(wq_stop_reason(r->stop));
    return effect.value || (effect.partial && r->o->partial);
}

/* With reduce, after the last batch: the owners write their keys, merged
 * into the output in order by the main thread. */
static void write_keys(struct run *r)
{
    wq_buf err = WQ_BUF_INIT;
    wq_buf head = WQ_BUF_INIT;
    enum wq_layout layout = r->o->format->layout;
    int wanted = value_wanted(r);
    if (wanted && wq_frame_table(layout) && wq_lua_key_header(r->host, layout, &head, &err) < 0)
        wq_buf_reset(&err);  /* the owners fail, and say why */
    wq_shuffle_close(r->shuffle, wanted);
    int64_t busy = 0;
    enum wq_shuffle_rc rc = wq_shuffle_write(r->shuffle, layout, &head, r->out, &busy, &err);
    wq_buf_free(&head);
    wq_writer_add_busy(r->writer, busy);
    r->value = rc == WQ_SHUFFLE_WRITTEN;
    if (rc == WQ_SHUFFLE_OUTPUT) {
        wq_reportf("%.*s", (int)err.len, err.data);
        wq_stop_request(r->stop, WQ_STOP_OUTPUT);
    }
    wq_buf_free(&err);
}

/* Starts the workers and the reader, and writes results up to the last
 * batch. */
static void pump(struct run *r, const wq_shared *shared)
{
    wq_buf err = WQ_BUF_INIT;
    if (r->o->progress && !r->shards)  /* it would count the journals' lines */
        r->progress = wq_progress_start(&r->inputs, &r->o->job.rec,
                                        r->o->shard_k, r->o->shard_n,
                                        r->o->job.workers, &r->item_ns);
    wq_writeconf wc = {
        .out = r->out, .errors = r->errors, .journal = r->journal,
        .joblog = r->joblog, .attempts = r->o->retries > 0,
        .host = r->fold && !r->reduce ? r->host : NULL, .shuffle = r->shuffle,
        .names = r->names,
        .progress = r->progress, .stop = r->stop,
        .max_failures = r->o->keep_going ? &r->o->max_failures : NULL,
        .prefix = !r->fold && !r->o->unordered,
    };
    if (!(r->writer = wq_writer_new(&wc))) {
        wq_reportf("out of memory");
        wq_stop_request(r->stop, WQ_STOP_MEMORY);
    } else if (wq_pool_start(r->pool, shared) > 0) {
        if (wq_reader_start(r->reader, &err) < 0)
            wq_reportf("%.*s", (int)err.len, err.data);
        wq_writer_drain(r->writer, r->order, r->spares);
        wq_reader_join(r->reader);
        if (r->shuffle)
            write_keys(r);
    }
    wq_buf_free(&err);
}

/* Runs setup (interruptible by a signal), then the stages. Returns the
 * number of hook failures, or -1 if an output cannot be opened (nothing
 * was run). */
static int run_stages(struct run *r)
{
    wq_buf err = WQ_BUF_INIT;
    int failures = 0;
    wq_stop_enter(r->stop, 0, r->host);  /* a signal may interrupt setup */
    int setup = wq_lua_setup(r->host, &r->shared, &err);
    wq_stop_leave(r->stop, 0);           /* but not the merging of results */
    if (setup < 0 && wq_stop_reason(r->stop) != WQ_GOING) {
        wq_reader_skip(r->reader);  /* stopped before any item was read */
    } else if (setup < 0) {
        wq_reportf("setup failed: %.*s", (int)err.len, err.data);
        failures++;
    } else if (open_outputs(r, &err) < 0) {
        wq_reportf("%.*s", (int)err.len, err.data);
        failures = -1;
    } else {
        pump(r, r->shared);
    }
    wq_pool_join(r->pool);
    wq_buf_free(&err);
    return failures;
}

/* Reports err, if it holds a message, and empties it. Returns 1 if it did. */
static int report(wq_buf *err)
{
    if (!err->len)
        return 0;
    wq_reportf("%.*s", (int)err->len, err->data);
    wq_buf_reset(err);
    return 1;
}

/* Ends the run: finish, the journal's end, the outputs put in place or not,
 * and reports what failed. Returns the number of failures. */
static int wind_up(struct run *r)
{
    wq_buf err = WQ_BUF_INIT;
    int failures = 0;
    enum wq_stop_reason why = wq_stop_reason(r->stop);
    wq_stop_effect effect = wq_stop_effect_of(why);
    const wq_readtally *rt = wq_reader_tally(r->reader);
    const wq_buf *read_error = wq_reader_error(r->reader);
    wq_progress_end(r->progress);
    wq_stop_failure(r->stop, &err);
    failures += report(&err);
    if (read_error->len)
        wq_reportf("%.*s", (int)read_error->len, read_error->data);
    if (r->journal && rt->complete && why == WQ_GOING &&
        wq_journal_end(r->journal, rt->read, rt->digest, &err) < 0)
        failures += report(&err);
    if (r->out && r->fold && !r->reduce && value_wanted(r)) {
        enum wq_value_rc rc = wq_writer_value(r->host, r->o->format->encoding, r->out,
                                              &err);
        if (rc == WQ_VALUE_FINISH_FAILED)
            wq_reportf("finish failed: %.*s", (int)err.len, err.data);
        else
            report(&err);
        failures += rc != WQ_VALUE_OK;
        r->value = rc == WQ_VALUE_OK;
    }
    wq_out *files[] = {r->out, r->errors};
    for (int i = 0; i < 2; i++) {
        int keep = effect.keep && (i > 0 || !r->fold || r->value);
        wq_buf_reset(&err);
        int rc = files[i] ? wq_out_close(files[i], keep, &err) : WQ_OUT_OK;
        if (rc == WQ_OUT_ERROR)
            failures += report(&err);
        struct stat st;
        if (i == 0)
            r->out_kept = files[i] && keep && rc == WQ_OUT_OK && r->o->output &&
                          stat(r->o->output, &st) == 0 && S_ISREG(st.st_mode);
    }
    /* last: the results are whole while a slow log is still written */
    wq_buf_reset(&err);
    if (wq_joblog_close(r->joblog, &err) < 0)
        failures += report(&err);
    r->joblog = NULL;
    wq_buf_free(&err);
    return failures;
}

/* --stats: what the summary line does not say, and per worker, so that an
 * imbalance shows. */
static void stats(const struct run *r, int64_t left)
{
    const wq_writetally *t = wq_writer_tally(r->writer);
    double wall = (double)(wq_now_ns() - r->started) / 1e9;
    int64_t ran = t->done - t->carried + t->failed;  /* by the workers */
    char carried[64] = "";
    if (t->carried)
        snprintf(carried, sizeof carried, ", %lld carried from the journal",
                 (long long)t->carried);
    wq_reportf("%lld without a result, %lld not processed%s; %.3f s, %.0f items/s",
               (long long)t->nil, (long long)left, carried, wall,
               wall > 0 ? (double)ran / wall : 0.0);
    if (r->o->retries > 0)
        wq_reportf("%lld item%s retried, in %lld attempts", (long long)t->retried,
                   t->retried == 1 ? "" : "s", (long long)t->attempts);
    wq_reportf("writer: %lld batches, busy %.3f s (%.0f%%)", (long long)t->batches,
               (double)t->busy_ns / 1e9,
               wall > 0 ? 100.0 * (double)t->busy_ns / 1e9 / wall : 0.0);
    for (int i = 0; i < wq_pool_size(r->pool); i++) {
        int64_t n, busy;
        wq_pool_worker_stats(r->pool, i, &n, &busy);
        wq_reportf("worker %d: %lld items, busy %.3f s (%.0f%%)", i + 1,
                   (long long)n, (double)busy / 1e9,
                   wall > 0 ? 100.0 * (double)busy / 1e9 / wall : 0.0);
    }
}

/* The summary line of a stopped run (summary.h). */
static void summarize(const struct run *r, const wq_writetally *t, int64_t left,
                      int left_unknown)
{
    char cause[64];
    wq_buf line = WQ_BUF_INIT;
    if (t->too_many)
        wq_maxfail_describe(&r->o->max_failures, cause, sizeof cause);
    wq_summary s = {
        .signal = wq_stop_is_signal(wq_stop_reason(r->stop)),
        .why = t->too_many ? cause : NULL, .done = t->done, .failed = t->failed,
        .left = left, .left_unknown = left_unknown, .merge = r->fold, .value = r->value,
        .output = r->o->output && strcmp(r->o->output, "-") ? r->o->output : NULL,
        .output_kept = r->out_kept, .results = t->done - t->nil,
        .journal = r->o->journal,
    };
    wq_summary_line(&s, &line);
    wq_reportf("%.*s", (int)line.len, line.data);
    wq_buf_free(&line);
}

/* The summary lines, and the outcome. */
static enum wq_outcome conclude(struct run *r, int failures)
{
    static const wq_writetally none;
    enum wq_stop_reason why = wq_stop_reason(r->stop);
    const wq_writetally *t = r->writer ? wq_writer_tally(r->writer) : &none;
    const wq_readtally *rt = wq_reader_tally(r->reader);
    int64_t left = t->unrun + rt->rest;
    int talk = !r->o->quiet;
    if (why == WQ_STOP_PIPE)
        return WQ_OUTCOME_PIPE;  /* quiet, as a program ended by SIGPIPE */
    if (r->o->stats && talk && r->writer)
        stats(r, left);
    if (why != WQ_GOING && talk)
        summarize(r, t, left, rt->rest_unknown);
    else if (t->carried && r->o->stats && talk)
        wq_reportf("%lld done (%lld from the journal), %lld failed",
                   (long long)t->done, (long long)t->carried, (long long)t->failed);
    else if ((t->failed || r->o->stats) && talk)
        wq_reportf("%lld done, %lld failed", (long long)t->done, (long long)t->failed);
    if (r->o->retry_failed && talk)
        wq_reportf("--retry-failed: %lld result%s kept from the journal, %lld failed "
                   "item%s run again", (long long)t->carried, t->carried == 1 ? "" : "s",
                   (long long)rt->rerun, rt->rerun == 1 ? "" : "s");
    if (why != WQ_GOING)
        return wq_stop_effect_of(why).outcome;
    return failures || t->failed ? WQ_OUTCOME_FAILED : WQ_OUTCOME_OK;
}

/* The end of the run, still under the stop's watch: the host state closes
 * (in the registry, as a worker's does), then what the job's programs left
 * running in the background is ended, named unless a signal stopped the
 * run (it asked for everything to end). */
static void close_host(struct run *r)
{
    wq_stop_enter(r->stop, 0, r->host);
    wq_lua_end(r->host);
    wq_stop_leave(r->stop, 0);
    wq_proc_end_adopted(!wq_stop_is_signal(wq_stop_reason(r->stop)));
}

static void check_timeouts(void *pool)
{
    wq_pool_check_timeouts(pool);
}

/* The run proper, under the stop's watch. */
static enum wq_outcome execute(struct run *r)
{
    wq_buf err = WQ_BUF_INIT;
    wq_stop_signals();
    int timed = r->o->job.timeout > 0;
    if (wq_stop_watch(r->stop, timed ? check_timeouts : NULL, r->pool, &err) < 0) {
        wq_reportf("%.*s", (int)err.len, err.data);
        wq_buf_free(&err);
        return WQ_OUTCOME_REFUSED;
    }
    int failures = run_stages(r);
    if (failures >= 0)
        failures += wind_up(r);
    close_host(r);
    wq_stop_unwatch(r->stop);
    wq_buf_free(&err);
    return failures < 0 ? WQ_OUTCOME_REFUSED : conclude(r, failures);
}

/* --dry-run: the items a run would hand to its workers, on standard
 * output; nothing else is opened for writing, no Lua runs. */
static enum wq_outcome dry_run(struct run *r, wq_buf *err)
{
    wq_opts *o = r->o;
    if (o->journal &&
        wq_journal_peek(o->journal, &r->header, o->retry_failed, &r->journal, err) < 0)
        return WQ_OUTCOME_REFUSED;
    wq_readconf rc = {
        .inputs = &r->inputs, .fmt = &o->job.rec,
        .shard_k = o->shard_k, .shard_n = o->shard_n, .workers = 1, .cpus = 1,
        .window = 1, .journal = r->journal, .journal_path = o->journal,
    };
    rc.stop = r->stop = wq_stop_new(1);
    if (!r->stop || !(r->reader = wq_reader_new(&rc))) {
        wq_buf_adds(err, "out of memory");
        return WQ_OUTCOME_REFUSED;
    }
    if (wq_reader_dry_run(r->reader, STDOUT_FILENO) == 0)
        return WQ_OUTCOME_OK;
    const wq_buf *why = wq_reader_error(r->reader);
    wq_buf_add(err, why->data, why->len);
    return WQ_OUTCOME_REFUSED;
}

static enum wq_outcome merge_shards(struct run *r, wq_buf *err)
{
    wq_shardconf c = {
        .journals = r->o->inputs, .n = r->o->ninputs, .header = &r->header,
        .output = r->o->output, .layout = r->o->format->layout,
        .format = r->o->format->encoding, .quiet = r->o->quiet,
    };
    if (!r->reduce)
        return wq_shards_merge(&c, r->host);
    /* A keyed reduce: the shards' records are the items of a run, whose
     * keys are folded across the workers as a run's are. */
    if (!(r->shards = wq_shards_open(&c, err)) || build(r, err) < 0)
        return WQ_OUTCOME_REFUSED;
    return execute(r);
}

static void release(struct run *r)
{
    wq_writer_free(r->writer);
    wq_reader_free(r->reader);
    wq_pool_free(r->pool);
    wq_shuffle_free(r->shuffle);
    wq_spares_free(r->spares);
    wq_order_free(r->order);
    wq_queue_free(r->queue);
    wq_stop_free(r->stop);
    wq_maxfail_count_free(&r->failures);
    wq_journal_close(r->journal);
    wq_jheader_free(&r->header);
    wq_lua_close(r->host);
    wq_csvout_free(r->o->job.csv);
    r->o->job.csv = NULL;
    wq_shared_free(r->shared);  /* after every state that has views of it */
    wq_shards_close(r->shards);
    free(r->names);
}

enum wq_outcome wq_run(wq_opts *o)
{
    struct run r = {.o = o, .started = wq_now_ns(), .header = WQ_JHEADER_INIT};
    wq_buf src = WQ_BUF_INIT, err = WQ_BUF_INIT;
    enum wq_outcome outcome = WQ_OUTCOME_REFUSED;
    if (name_inputs(&r) < 0)
        wq_buf_adds(&err, "out of memory");
    else if (read_job(&o->job, &src) == 0 && load(&r, &err) == 0) {
        make_header(&r);
        if (o->check)
            outcome = WQ_OUTCOME_OK;
        else if (o->dry_run)
            outcome = dry_run(&r, &err);
        else if (o->merge)
            outcome = merge_shards(&r, &err);
        else if (build(&r, &err) == 0)
            outcome = execute(&r);
    }
    if (err.len)
        wq_reportf("%.*s", (int)err.len, err.data);
    release(&r);
    wq_buf_free(&src);
    wq_buf_free(&err);
    return outcome;
}
