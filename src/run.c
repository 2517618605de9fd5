/*
 * run.c - one run, from loaded job to exit code; see run.h.
 *
 * Threads: the main thread (host state: setup, merge, finish; and the writer),
 * the reader (input to batches), the workers (worker.c) and the signal thread,
 * which alone receives SIGINT and SIGTERM (every other thread blocks them) and
 * turns the first into an orderly stop, the second into an immediate exit. It
 * also checks per-item timeouts.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "batch.h"
#include "child.h"
#include "input.h"
#include "journal.h"
#include "output.h"
#include "progress.h"
#include "report.h"
#include "shards.h"
#include "worker.h"

/* How big batches grow: about `ns` of work, within caps. With merge, every
 * batch ends by sending its folded value to the host, a cost that follows
 * the distinct keys of a batch rather than its items (word counts); longer
 * batches make it small next to the work. */
static const struct sizing {
    int64_t ns;
    uint32_t items;
    size_t bytes;
} list_sizing = {2000000, 4096, 256 << 10}, fold_sizing = {50000000, 131072, 4 << 20};

#define WINDOW_BYTES (64u << 20)  /* the items of all batches in flight */

struct run {
    wq_opts *o;
    wq_input *in;
    wq_queue *q;
    wq_order *order;
    wq_pool *pool;
    wq_lua *host;
    wq_buf input_error;       /* the reader's, if any */
    wq_out *errors;           /* --errors FILE, or NULL */
    int64_t read, rest;       /* items read into batches; items left unread */
    int rest_unknown;         /* the input was not read to its end */
    int64_t done, failed, unrun, carried, nil;
    int64_t started;          /* ns */
    wq_progress *progress;    /* the progress line, or NULL */
    wq_journal *journal;      /* --journal, or NULL */
    int complete;             /* the reader read the whole input */
    uint64_t digest;          /* of every item read, for --merge (journaling) */
    pthread_mutex_t spare_mu;
    wq_batch *spare;          /* batches to reuse, linked by next */
    _Atomic int finished;     /* tells the signal thread to end */
    const struct sizing *sizing;
    size_t batch_bytes;       /* the sizing's cap, within WINDOW_BYTES */
};

/* How many items the next batch may hold, from the cost of recent items. */
static uint32_t batch_size(const struct run *r)
{
    int64_t ns = wq_pool_item_ns(r->pool);
    if (ns <= 0)
        return 1;
    int64_t n = r->sizing->ns / ns;
    return n < 1 ? 1 : n > r->sizing->items ? r->sizing->items : (uint32_t)n;
}

/* Reads the next item, retrying reads a signal interrupted unless a stop is
 * due. Without wait, returns -3 rather than wait for a pipe. Returns as
 * wq_input_next. */
static int next_item(struct run *r, const char **item, size_t *len, int wait)
{
    int rc;
    while ((rc = wq_input_next(r->in, item, len, wait, &r->input_error)) == -2)
        if (wq_pool_stopping(r->pool))
            return 0;
    if (rc == -1)
        wq_pool_stop(r->pool, WQ_STOP_INPUT);
    return rc;
}

/* Whether the item of this index is one this run processes (--shard). */
static int in_shard(const wq_opts *o, int64_t index)
{
    return o->shard_n == 1 || (index - 1) % o->shard_n == o->shard_k - 1;
}

/* Looks the last item added to b up in the journal: a result recorded
 * there is carried over, not run again. Returns 0, or -1 on a stop. */
static int carry(struct run *r, wq_batch *b, const char *item, size_t len)
{
    wq_jitem *j = &b->j[b->count - 1];
    wq_jrecord rec;
    j->hash = wq_hash(item, len);
    if (r->o->shard_n == 1)  /* sharded runs fold every item as they read it */
        r->digest = wq_digest(r->digest, j->hash);
    int found = wq_journal_lookup(r->journal, r->read, &rec, &r->input_error);
    if (found > 0 && rec.hash != j->hash) {
        wq_buf_printf(&r->input_error, "item %lld (%s:%lld) differs from the one "
                      "journal %s recorded: the input changed", (long long)r->read,
                      wq_input_name(r->in, b->file), (long long)wq_input_line(r->in),
                      r->o->journal);
        found = -1;
    }
    if (found < 0) {
        wq_pool_stop(r->pool, WQ_STOP_INPUT);
        return -1;
    }
    if (found && rec.status != WQ_J_FAILED) {
        j->carried = 1;
        j->status = (char)rec.status;
        j->start = b->jbuf.len;
        wq_buf_add(&b->jbuf, rec.data, rec.len);
        j->end = b->jbuf.len;
    }
    return 0;
}

/* Fills b from the input, starting with the pending item if *pending. A
 * batch that holds items goes as soon as the next one would have to be
 * waited for, so items from a slow pipe start at once. Returns 1 while
 * items may follow, 0 at the end or on a stop. */
static int fill_batch(struct run *r, wq_batch *b, int *pending,
                      const char **item, size_t *len)
{
    uint32_t max = batch_size(r);
    for (;;) {
        if (!*pending) {
            int rc = next_item(r, item, len, b->count == 0);
            if (rc == -3)
                return 1;
            if (rc <= 0)
                return 0;
            ++r->read;
            if (r->journal && r->o->shard_n > 1)
                r->digest = wq_digest(r->digest, wq_hash(*item, *len));
            if (!in_shard(r->o, r->read))
                continue;
            *pending = 1;
        }
        int file = wq_input_file(r->in);
        if (b->count == 0) {
            b->file = file;
            b->line = wq_input_line(r->in);
            b->first = r->read;
            b->stride = r->o->shard_n;
        } else if (file != b->file || b->count >= max ||
                   b->items.len + *len > r->batch_bytes) {
            return 1;
        }
        if (wq_batch_add(b, *item, *len, r->journal != NULL) < 0) {
            wq_buf_adds(&r->input_error, "out of memory");
            wq_pool_stop(r->pool, WQ_STOP_INPUT);
            return 0;
        }
        *pending = 0;
        if (r->journal && carry(r, b, *item, *len) < 0)
            return 0;
    }
}

/* After a stop: counts what was left unread, when that cannot block. */
static void count_rest(struct run *r, int pending)
{
    const char *item;
    size_t len;
    r->rest = pending;
    if (!wq_input_rest_is_regular(r->in)) {
        r->rest_unknown = 1;
        return;
    }
    wq_buf err = WQ_BUF_INIT;
    int rc;
    while ((rc = wq_input_next(r->in, &item, &len, 1, &err)) == 1 || rc == -2)
        r->rest += rc == 1 && in_shard(r->o, ++r->read);
    wq_buf_free(&err);
}

/* Batches the writer is done with go back to the reader through a list of
 * spares, so their buffers stop growing after the first rounds instead of
 * being allocated anew for every batch. */
static wq_batch *spare_take(struct run *r)
{
    pthread_mutex_lock(&r->spare_mu);
    wq_batch *b = r->spare;
    if (b)
        r->spare = b->next;
    pthread_mutex_unlock(&r->spare_mu);
    return b ? b : wq_batch_new();
}

static void spare_give(struct run *r, wq_batch *b)
{
    if (!(b = wq_batch_reset(b)))
        return;
    pthread_mutex_lock(&r->spare_mu);
    b->next = r->spare;
    r->spare = b;
    pthread_mutex_unlock(&r->spare_mu);
}

/* The reader thread: input to batches, until the end or a stop. */
static void *reader_main(void *arg)
{
    struct run *r = arg;
    const char *item = NULL;
    size_t len = 0;
    int pending = 0, more = 1;
    uint64_t seq;
    while (more && !wq_pool_stopping(r->pool)) {
        wq_batch *b = spare_take(r);
        if (!b) {
            wq_buf_adds(&r->input_error, "out of memory");
            wq_pool_stop(r->pool, WQ_STOP_INPUT);
            break;
        }
        if (wq_order_reserve(r->order, &seq) < 0) {
            wq_batch_free(b);
            break;
        }
        b->seq = seq;
        more = fill_batch(r, b, &pending, &item, &len);
        if (b->count == 0 || wq_queue_push(r->q, b) < 0)
            wq_order_done(r->order, seq, b);  /* nothing to run: hand it back */
    }
    if (wq_pool_stopping(r->pool))
        count_rest(r, pending);
    else
        r->complete = 1;
    wq_order_close(r->order);
    wq_queue_close(r->q);
    return NULL;
}

/* The signal thread; see the file comment. SIGUSR2 wakes it to end. */
static void *signal_main(void *arg)
{
    struct run *r = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR2);
    int stopped = 0;  /* the signal of the stop */
    while (!atomic_load(&r->finished)) {
        int sig;
        if (r->o->job.timeout > 0 || stopped) {
            struct timespec tick = {0, 20 * 1000 * 1000};
            sig = sigtimedwait(&set, NULL, &tick);
            if (sig < 0) {
                if (r->o->job.timeout > 0)
                    wq_pool_check_timeouts(r->pool);
                if (wq_lua_unanswered())  /* as a second signal would */
                    wq_child_exit(stopped ? 128 + stopped : WQ_EXIT_FAILED);
                continue;
            }
        } else if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGUSR2)
            continue;
        if (stopped)
            wq_child_exit(128 + sig);  /* the second signal: at once */
        stopped = sig;
        wq_pool_stop(r->pool, sig == SIGINT ? WQ_STOP_SIGINT : WQ_STOP_SIGTERM);
    }
    return NULL;
}

/* The failure report: a header line naming the item, the message, the
 * traceback. */
static void report_failure(const struct run *r, const wq_batch *b,
                           const wq_failure *f)
{
    wq_buf line = WQ_BUF_INIT;
    wq_buf_printf(&line, "luaworkq: item %lld (%s:%lld) failed: ",
                  (long long)f->index, wq_input_name(r->in, b->file),
                  (long long)f->line);
    wq_buf_add(&line, f->message.data, f->message.len);
    if (line.data)
        wq_report(line.data, line.len);
    wq_buf_free(&line);
}

/* Where the traceback starts in a failure's message (not NUL-terminated),
 * or NULL. */
static const char *traceback_in(const char *msg, size_t len)
{
    static const char mark[] = "\nstack traceback:";
    for (const char *p = msg; (p = memchr(p, '\n', len - (size_t)(p - msg))); p++)
        if ((size_t)(msg + len - p) >= sizeof mark - 1 &&
            memcmp(p, mark, sizeof mark - 1) == 0)
            return p;
    return NULL;
}

/* Appends the --errors record of a failure: one JSON object, keys sorted. */
static void error_record(const struct run *r, const wq_batch *b,
                         const wq_failure *f, wq_buf *rec)
{
    const char *msg = f->message.data ? f->message.data : "";
    const char *tb = traceback_in(msg, f->message.len);
    size_t msglen = tb ? (size_t)(tb - msg) : f->message.len;
    const char *name = wq_input_name(r->in, b->file);
    wq_buf_adds(rec, "{\"error\":");
    wq_json_string(rec, msg, msglen);
    wq_buf_printf(rec, ",\"index\":%lld,\"input\":", (long long)f->index);
    wq_json_string(rec, f->item.data ? f->item.data : "", f->item.len);
    wq_buf_printf(rec, ",\"line\":%lld,\"source\":", (long long)f->line);
    wq_json_string(rec, name, strlen(name));
    wq_buf_adds(rec, ",\"traceback\":");
    wq_json_string(rec, tb ? tb + 1 : "", tb ? f->message.len - msglen - 1 : 0);
    wq_buf_adds(rec, "}\n");
}

/* Appends to the journal what this run did with the batch's items. */
static void journal_batch(struct run *r, const wq_batch *b)
{
    wq_buf err = WQ_BUF_INIT;
    int rc = 0;
    for (uint32_t i = 0; i < b->count && rc == 0; i++) {
        const wq_jitem *j = &b->j[i];
        if (!j->status || j->carried)
            continue;
        wq_jrecord rec = {b->first + i * b->stride, j->hash, j->status,
                          b->jbuf.data + j->start, j->end - j->start};
        rc = wq_journal_add(r->journal, &rec, &err);
    }
    if (rc < 0 || wq_journal_flush(r->journal, &err) < 0) {
        wq_reportf("%.*s", (int)err.len, err.data);
        wq_pool_stop(r->pool, WQ_STOP_INPUT);
    }
    wq_buf_free(&err);
}

/* Writes one finished batch: its failures, then its results. */
static void take_batch(struct run *r, wq_out *out, wq_batch *b)
{
    wq_buf err = WQ_BUF_INIT;
    if (r->journal && b->j)
        journal_batch(r, b);
    for (const wq_failure *f = b->failures; f; f = f->next) {
        report_failure(r, b, f);
        if (r->errors) {
            wq_buf rec = WQ_BUF_INIT;
            error_record(r, b, f, &rec);
            if (wq_out_list(r->errors, rec.data, rec.len, &err) == WQ_OUT_ERROR)
                wq_reportf("%.*s", (int)err.len, err.data);
            wq_buf_free(&rec);
        }
    }
    r->done += b->done;
    r->carried += b->carried;
    r->nil += b->nil;
    r->failed += b->failed;
    r->unrun += b->unrun;
    int fold = wq_lua_has(r->host, WQ_MERGE);
    if (fold && b->out.len && wq_pool_stopping(r->pool) != WQ_STOP_HOOK &&
        wq_lua_merge_in(r->host, b->out.data, b->out.len, &err) < 0) {
        wq_pool_fail(r->pool, WQ_STOP_HOOK, "merge", 0, &err);
    } else if (!fold) {
        int rc = wq_out_list(out, b->out.data, b->out.len, &err);
        if (rc == WQ_OUT_PIPE)
            wq_pool_stop(r->pool, WQ_STOP_PIPE);
        else if (rc == WQ_OUT_ERROR) {
            wq_reportf("%.*s", (int)err.len, err.data);
            wq_pool_stop(r->pool, WQ_STOP_INPUT);
        }
    }
    wq_buf_free(&err);
}

/* The exit code and summary line for how the run went. */
/* --stats: what the summary line does not say, and per worker, so that an
 * imbalance shows. */
static void stats(const struct run *r)
{
    double wall = (double)(wq_now_ns() - r->started) / 1e9;
    int64_t items = r->done + r->failed;
    wq_reportf("%lld without a result, %lld not processed; %.3f s, %.0f items/s",
               (long long)r->nil, (long long)(r->unrun + r->rest), wall,
               wall > 0 ? (double)items / wall : 0.0);
    for (int i = 0; i < wq_pool_size(r->pool); i++) {
        int64_t n, busy;
        wq_pool_worker_stats(r->pool, i, &n, &busy);
        wq_reportf("worker %d: %lld items, busy %.3f s (%.0f%%)", i + 1,
                   (long long)n, (double)busy / 1e9,
                   wall > 0 ? 100.0 * (double)busy / 1e9 / wall : 0.0);
    }
}

static int conclude(struct run *r, int failed_hooks)
{
    enum wq_stop why = wq_pool_stopping(r->pool);
    int64_t left = r->unrun + r->rest;
    if (why == WQ_STOP_PIPE)
        return 128 + SIGPIPE;  /* quiet, as a program ended by SIGPIPE */
    if (r->o->stats && !r->o->quiet)
        stats(r);
    if (why != WQ_GOING && !r->o->quiet)
        wq_reportf("stopped: %lld done, %lld failed, %lld%s not processed",
                   (long long)r->done, (long long)r->failed, (long long)left,
                   r->rest_unknown ? "+" : "");
    else if (r->carried && r->o->stats && !r->o->quiet)
        wq_reportf("%lld done (%lld from the journal), %lld failed",
                   (long long)r->done, (long long)r->carried, (long long)r->failed);
    else if ((r->failed || r->o->stats) && !r->o->quiet)
        wq_reportf("%lld done, %lld failed", (long long)r->done,
                   (long long)r->failed);
    switch (why) {
    case WQ_STOP_SIGINT: return 128 + SIGINT;
    case WQ_STOP_SIGTERM: return 128 + SIGTERM;
    case WQ_STOP_SETUP:
    case WQ_STOP_INPUT: return WQ_EXIT_USAGE;
    default: break;
    }
    return failed_hooks || r->failed || why != WQ_GOING ? WQ_EXIT_FAILED : WQ_EXIT_OK;
}

/* Reads the job script whole; it is loaded from memory in every state. */
static int read_job(wq_jobconf *job, wq_buf *src)
{
    int fd = open(job->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        wq_reportf("cannot load %s: is a directory", job->path);
        return -1;
    }
    char chunk[65536];
    ssize_t n = fd < 0 ? -1 : 0;
    while (fd >= 0 && ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0 && wq_buf_add(src, chunk, (size_t)n) < 0)
            break;
    if (n < 0)
        wq_reportf("cannot open %s: %s", job->path, strerror(errno));
    if (fd >= 0)
        close(fd);
    job->source = src->data ? src->data : "";
    job->source_len = src->len;
    return n < 0 ? -1 : 0;
}

/* Blocks the signals that only the signal thread takes; threads inherit the
 * mask. SIGPIPE gets the pool's handler: a closed output is seen as EPIPE. */
static void own_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    wq_pool_signals();
}

/* Runs setup, the workers and the writer loop, up to the last batch. */
/* Opens --errors FILE and the output, or neither. */
static int open_outputs(struct run *r, wq_out **out, wq_buf *err)
{
    wq_opts *o = r->o;
    if (o->errors && !(r->errors = wq_out_open(o->errors, WQ_LAYOUT_NDJSON, 1, err)))
        return -1;
    *out = wq_out_open(o->output, o->layout, !wq_lua_has(r->host, WQ_MERGE), err);
    if (!*out && r->errors) {
        wq_out_close(r->errors, 0, err);
        r->errors = NULL;
    }
    return *out ? 0 : -1;
}

/* Runs setup, opens the outputs, starts the workers and the reader, and
 * writes results up to the last batch. Returns 0, -1 if setup failed (exit
 * 1), -2 if an output cannot be opened (exit 2, nothing was run). */
static int pump(struct run *r, wq_out **out, wq_buf *shared)
{
    wq_opts *o = r->o;
    wq_buf err = WQ_BUF_INIT;
    int rc = 0;
    wq_pool_attach(r->pool, r->host);  /* a signal may interrupt setup */
    int setup = wq_lua_setup(r->host, shared, &err);
    wq_pool_attach(r->pool, NULL);     /* but not the merging of results */
    if (setup < 0 && wq_pool_stopping(r->pool)) {
        count_rest(r, 0);  /* stopped before any item was read */
    } else if (setup < 0) {
        wq_reportf("setup failed: %.*s", (int)err.len, err.data);
        rc = -1;
    } else if (open_outputs(r, out, &err) < 0) {
        wq_reportf("%.*s", (int)err.len, err.data);
        rc = -2;
    } else if (wq_pool_start(r->pool, shared) > 0) {
        pthread_t reader;
        if (pthread_create(&reader, NULL, reader_main, r) != 0)
            abort();
        wq_pool_watch_reader(r->pool, &reader);
        wq_batch *b;
        if (o->progress)
            r->progress = wq_progress_start(o->inputs, o->ninputs, o->sep,
                                            o->shard_k, o->shard_n);
        while ((b = wq_order_take(r->order))) {
            take_batch(r, *out, b);
            spare_give(r, b);
            wq_progress_update(r->progress, r->done, r->failed);
        }
        wq_pool_watch_reader(r->pool, NULL);
        pthread_join(reader, NULL);
    }
    wq_buf_free(&err);
    return rc;
}

/* Ends the run: joins, finish, output, and reports what failed. Returns
 * the number of hook failures. */
static int wind_up(struct run *r, wq_out *out)
{
    wq_buf err = WQ_BUF_INIT;
    int failures = 0;
    wq_progress_end(r->progress);
    if (wq_pool_join(r->pool, &err) < 0) {
        wq_reportf("%.*s", (int)err.len, err.data);
        failures++;
    }
    if (r->input_error.len)
        wq_reportf("%.*s", (int)r->input_error.len, r->input_error.data);
    if (r->journal && r->complete && !wq_pool_stopping(r->pool) &&
        wq_journal_end(r->journal, r->read, r->digest, &err) < 0) {
        wq_reportf("%.*s", (int)err.len, err.data);
        failures++;
    }
    enum wq_stop why = wq_pool_stopping(r->pool);
    if (out && wq_lua_has(r->host, WQ_MERGE) && why != WQ_STOP_PIPE &&
        why != WQ_STOP_HOOK) {  /* after a failed hook the value is not whole */
        wq_buf value = WQ_BUF_INIT;
        int raw = 0, rc;
        wq_buf_reset(&err);
        if ((rc = wq_lua_finish(r->host, wq_layout_format(r->o->layout), &value,
                                &raw, &err)) < 0) {
            wq_reportf("%s%.*s", rc == -1 ? "finish failed: " : "", (int)err.len,
                       err.data);
            failures++;
        } else if (wq_out_value(out, value.data, value.len, raw, &err) == WQ_OUT_ERROR) {
            wq_reportf("%.*s", (int)err.len, err.data);
            failures++;
        }
        wq_buf_free(&value);
    }
    wq_out *files[] = {out, r->errors};
    for (int i = 0; i < 2; i++) {
        wq_buf_reset(&err);
        if (files[i] && wq_out_close(files[i], why != WQ_STOP_INPUT, &err) ==
                            WQ_OUT_ERROR) {
            wq_reportf("%.*s", (int)err.len, err.data);
            failures++;
        }
    }
    wq_buf_free(&err);
    return failures;
}

void wq_run_header(const wq_opts *o, wq_buf *h)
{
    static const char *const formats[] = {"json", "ndjson", "lines"};
    wq_buf_printf(h, "luaworkq journal 1\njob %016llx\nformat %s\n"
                  "separator %s\nndjson-in %s\n",
                  (unsigned long long)wq_hash(o->job.source, o->job.source_len),
                  formats[o->layout], o->sep ? "newline" : "nul",
                  o->job.ndjson_in ? "yes" : "no");
    for (int i = 0; i < o->job.nsets; i++)
        wq_buf_printf(h, "set %s\n", o->job.sets[i]);
    wq_buf_printf(h, "shard %d/%d\n", o->shard_k, o->shard_n);
}

/* Checks the inputs and loads the job in the host state. */
static int load(struct run *r, wq_buf *err)
{
    if (!r->o->merge && wq_input_check(r->o->inputs, r->o->ninputs, err) < 0)
        return -1;
    return (r->host = wq_lua_open(&r->o->job, 0, err)) ? 0 : -1;
}

static int open_journal(struct run *r, wq_buf *err)
{
    if (!r->o->journal)
        return 0;
    wq_buf header = WQ_BUF_INIT;
    wq_run_header(r->o, &header);
    wq_buf_addc(&header, '\0');
    r->journal = wq_journal_open(r->o->journal, header.data, err);
    wq_buf_free(&header);
    return r->journal ? 0 : -1;
}

/* Creates the reader's input, the queue, the window and the pool. */
static int build(struct run *r, wq_buf *err)
{
    wq_opts *o = r->o;
    int fold = wq_lua_has(r->host, WQ_MERGE);
    wq_poolconf pc = {&o->job, o->layout, fold, o->keep_going, o->retries};
    size_t window = 4 * (size_t)o->job.workers + 4;
    r->sizing = fold ? &fold_sizing : &list_sizing;
    r->batch_bytes = WINDOW_BYTES / window;
    if (r->batch_bytes > r->sizing->bytes)
        r->batch_bytes = r->sizing->bytes;
    r->in = wq_input_new(o->inputs, o->ninputs, o->sep);
    r->q = wq_queue_new(window);
    r->order = wq_order_new(window, o->unordered && !fold);
    r->pool = r->q && r->order ? wq_pool_new(&pc, r->q, r->order) : NULL;
    if (r->in && r->pool)
        return 0;
    wq_buf_adds(err, "out of memory");
    return -1;
}

/* The run proper, under the signal thread. Returns the exit code. */
static int execute(struct run *r)
{
    wq_buf shared = WQ_BUF_INIT;
    wq_out *out = NULL;
    own_signals();
    pthread_t sigthread;
    if (pthread_create(&sigthread, NULL, signal_main, r) != 0)
        abort();
    int pumped = pump(r, &out, &shared);
    int hook_failures = wind_up(r, out) + (pumped == -1);
    atomic_store(&r->finished, 1);
    pthread_kill(sigthread, SIGUSR2);
    pthread_join(sigthread, NULL);
    wq_buf_free(&shared);
    return pumped == -2 ? WQ_EXIT_USAGE : conclude(r, hook_failures);
}

static void release(struct run *r)
{
    while (r->spare) {
        wq_batch *b = r->spare;
        r->spare = b->next;
        wq_batch_free(b);
    }
    wq_pool_free(r->pool);
    wq_order_free(r->order);
    wq_queue_free(r->q);
    wq_input_free(r->in);
    wq_lua_close(r->host);
    wq_journal_close(r->journal);
    wq_buf_free(&r->input_error);
}

int wq_run(wq_opts *o)
{
    struct run r = {.o = o, .started = wq_now_ns(),
                    .spare_mu = PTHREAD_MUTEX_INITIALIZER};
    wq_buf src = WQ_BUF_INIT, err = WQ_BUF_INIT;
    int code = WQ_EXIT_USAGE;
    if (read_job(&o->job, &src) == 0 && load(&r, &err) == 0) {
        if (o->check)
            code = WQ_EXIT_OK;
        else if (o->merge)
            code = wq_shards_merge(o, r.host);
        else if (open_journal(&r, &err) == 0 && build(&r, &err) == 0)
            code = execute(&r);
    }
    if (err.len)
        wq_reportf("%.*s", (int)err.len, err.data);
    release(&r);
    wq_buf_free(&src);
    wq_buf_free(&err);
    return code;
}
