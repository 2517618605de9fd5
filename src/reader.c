/*
 * reader.c - the reader stage; see reader.h.
 *
 * Producer: this thread alone, reading the input in order. Consumers: the
 * workers, through the work queue. Order: every batch reserves the next
 * sequence number in the window before it is filled, so the writer can put
 * results back in input order; a full window makes the reservation wait,
 * which is the backpressure that keeps memory flat. Shutdown: at the end of
 * the input or at a stop, the reader closes the window and then the queue.
 */
#include "reader.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "chunk.h"
#include "joblog.h"

/* What a dry run gathers before each write. */
#define DRY_CHUNK (1u << 20)

/* How big batches grow: about `ns` of work, within caps. With merge, every
 * batch ends by sending its folded value to the host, a cost that follows
 * the distinct keys of a batch rather than its items (word counts); longer
 * batches make it small next to the work. */
static const struct sizing {
    int64_t ns;
    uint32_t items;
    size_t bytes;
} list_sizing = {2000000, 4096, 256 << 10}, fold_sizing = {50000000, 131072, 4 << 20};


struct wq_reader {
    wq_readconf c;
    wq_input *in;
    pthread_t tid;
    int started;
    const struct sizing *sizing;
    size_t batch_bytes;       /* the sizing's cap, within WINDOW_BYTES */
    wq_readtally t;
    wq_buf error;
    /* The item read but not yet added to a batch. */
    int pending;
    const char *item;
    size_t len;
    uint64_t hash;            /* its hash, when journaling */
    int64_t index;            /* its index: that of its first record */
    int file;                 /* its file */
    int64_t line;             /* its LINE there */
    int too_long;             /* a record longer than the bound */
    /* The last record read from the input, and the records read so far. */
    const char *rec;
    size_t rec_len;
    int64_t records;
    /* With --chunk: the chunk being built, and a record read that starts
     * the next one. */
    wq_chunker chunker;
    wq_buf chunk;
    int building, held;
};

wq_reader *wq_reader_new(const wq_readconf *conf)
{
    wq_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->c = *conf;
    wq_chunker_init(&r->chunker, conf->fmt);
    r->sizing = conf->fold ? &fold_sizing : &list_sizing;
    r->batch_bytes = WQ_WINDOW_BYTES / (size_t)conf->window;
    if (r->batch_bytes > r->sizing->bytes)
        r->batch_bytes = r->sizing->bytes;
    if (!(r->in = wq_input_new(conf->inputs, conf->fmt))) {
        free(r);
        return NULL;
    }
    return r;
}

void wq_reader_free(wq_reader *r)
{
    if (!r)
        return;
    wq_input_free(r->in);
    wq_buf_free(&r->chunk);
    wq_buf_free(&r->error);
    free(r);
}

static int stopping(const wq_reader *r)
{
    return wq_stop_reason(r->c.stop) != WQ_GOING;
}

static void fail(wq_reader *r, enum wq_stop_reason why, const char *msg)
{
    if (msg)
        wq_buf_adds(&r->error, msg);
    wq_stop_request(r->c.stop, why);
}

/* How many items the next batch may hold, from the cost of recent items.
 * Workers measure an item's wall time; where more workers than CPUs share
 * them, that is the item's cost times the sharing, which would make batches
 * (and so folded values for the host to merge) shrink as -j grows. */
static uint32_t batch_size(const wq_reader *r)
{
    int64_t ns = atomic_load_explicit(r->c.item_ns, memory_order_relaxed);
    if (r->c.cpus > 0 && r->c.workers > r->c.cpus)
        ns = ns * r->c.cpus / r->c.workers;
    if (ns <= 0)
        return 1;
    int64_t n = r->sizing->ns / ns;
    return n < 1 ? 1 : n > r->sizing->items ? r->sizing->items : (uint32_t)n;
}

/* Reads the next record into r->rec, retrying reads a signal interrupted
 * unless a stop is due (then it is the end). */
static enum wq_input_rc next_record(wq_reader *r, int wait)
{
    enum wq_input_rc rc;
    while ((rc = wq_input_next(r->in, &r->rec, &r->rec_len, wait, &r->error)) ==
           WQ_INPUT_INTERRUPTED)
        if (stopping(r))
            return WQ_INPUT_END;
    if (rc == WQ_INPUT_ERROR)
        fail(r, WQ_STOP_INPUT, NULL);
    return rc;
}

/* Makes the record just read the next item. */
static enum wq_input_rc record_item(wq_reader *r, int wait)
{
    enum wq_input_rc rc = next_record(r, wait);
    if (rc == WQ_INPUT_ITEM) {
        r->item = r->rec;
        r->len = r->rec_len;
        r->index = ++r->records;
        r->file = wq_input_file(r->in);
        r->line = wq_input_line(r->in);
        r->too_long = wq_input_too_long(r->in);
    }
    return rc;
}

/* Hands out the chunk built as the next item. */
static enum wq_input_rc chunk_done(wq_reader *r)
{
    r->item = r->chunk.data;
    r->len = r->chunk.len;
    r->building = 0;
    return WQ_INPUT_ITEM;
}

/* Puts the record read (r->rec) in the chunk, starting one if none is
 * being built. Returns 0, or -1 when out of memory. */
static int chunk_record(wq_reader *r, int file, int too_long)
{
    if (!r->building) {
        wq_buf_reset(&r->chunk);
        r->index = r->records + 1;
        r->file = file;
        r->line = wq_input_line(r->in);
        r->too_long = too_long;
        r->building = 1;
    }
    wq_chunker_add(&r->chunker, file, too_long);
    r->records++;
    r->held = 0;
    return wq_chunk_add(&r->chunk, r->rec, r->rec_len);
}

/* --chunk N: makes the next chunk the next item. A chunk that has records
 * goes when it is full, at the end of the input, and when the next record
 * cannot join it (another file, a record too long): that record, already
 * read, starts the next chunk. Without wait, a chunk waiting for a record
 * from a pipe stays in the making (WQ_INPUT_LATER). */
static enum wq_input_rc chunk_item(wq_reader *r, int wait)
{
    for (;;) {
        if (!r->held) {
            enum wq_input_rc rc = next_record(r, wait);
            if (rc == WQ_INPUT_END && r->building)
                return chunk_done(r);
            if (rc != WQ_INPUT_ITEM)
                return rc;
            r->held = 1;
        }
        int file = wq_input_file(r->in), too_long = wq_input_too_long(r->in);
        if (r->building && !wq_chunker_joins(&r->chunker, file, too_long))
            return chunk_done(r);
        if (chunk_record(r, file, too_long) < 0) {
            fail(r, WQ_STOP_MEMORY, "out of memory");
            return WQ_INPUT_ERROR;
        }
        if (wq_chunker_full(&r->chunker))
            return chunk_done(r);
    }
}

/* Reads the next item: a record, or with --chunk a chunk of them. */
static enum wq_input_rc next_item(wq_reader *r, int wait)
{
    return r->c.fmt->chunk ? chunk_item(r, wait) : record_item(r, wait);
}

/* Whether the item of this index is one this run processes (--shard). */
static int in_shard(const wq_readconf *c, int64_t index)
{
    return c->shard_n == 1 || (index - 1) % c->shard_n == c->shard_k - 1;
}

/* Looks the pending item (of file, its hash in r->hash) up in the
 * journal: returns 1 when a result is recorded for it (in *rec), 0 when
 * none is (no record, or a failure: it runs again), -1 on a stop (an input
 * that changed, a read error). */
static int recorded(wq_reader *r, int file, wq_jrecord *rec)
{
    int found = wq_journal_lookup(r->c.journal, r->t.read, rec, &r->error);
    if (found > 0 && rec->hash != r->hash) {
        wq_buf_printf(&r->error, "item %lld (%s:%lld) differs from the one "
                      "journal %s recorded: the input changed", (long long)r->index,
                      r->c.inputs->names[file], (long long)r->line,
                      r->c.journal_path);
        found = -1;
    }
    if (found < 0) {
        fail(r, WQ_STOP_INPUT, NULL);
        return -1;
    }
    if (found && rec->status == WQ_J_FAILED) {
        r->t.rerun++;
        return 0;
    }
    return found;
}

/* Looks the last item added to b up in the journal: a result recorded
 * there is carried over, not run again. Returns 0, or -1 on a stop. */
static int carry(wq_reader *r, wq_batch *b)
{
    wq_jitem *j = &b->j[b->count - 1];
    wq_jrecord rec;
    j->hash = r->hash;
    int found = recorded(r, b->file, &rec);
    if (found > 0) {
        j->carried = 1;
        j->status = rec.status == WQ_J_NIL ? WQ_SLOT_NIL : WQ_SLOT_RESULT;
        j->start = b->jbuf.len;
        wq_buf_add(&b->jbuf, rec.data, rec.len);
        j->end = b->jbuf.len;
    }
    return found < 0 ? -1 : 0;
}

/* Reads until an item of this run is pending. Returns WQ_INPUT_ITEM, or
 * what ended the reading. */
static enum wq_input_rc read_pending(wq_reader *r, int wait)
{
    while (!r->pending) {
        enum wq_input_rc rc = next_item(r, wait);
        if (rc != WQ_INPUT_ITEM)
            return rc;
        ++r->t.read;
        if (r->c.journal) {  /* the digest covers every item, in or out of the shard */
            r->hash = wq_journal_hash(r->item, r->len);
            r->t.digest = wq_journal_digest(r->t.digest, r->hash);
        }
        r->pending = in_shard(&r->c, r->t.read);
    }
    return WQ_INPUT_ITEM;
}

/* b holds one item, a record longer than the bound: it fails, as an item
 * that raised an error does (its report names the bound). Returns 1 while
 * the run goes on (-k), 0 when the failure stops it. */
static int fail_too_long(wq_reader *r, wq_batch *b)
{
    char bound[WQ_SIZE_NAME];
    wq_buf msg = WQ_BUF_INIT;
    wq_record_size_name(r->c.fmt->max, bound, sizeof bound);
    wq_buf_printf(&msg, "record longer than the --max-record bound of %s", bound);
    b->failed = 1;
    wq_batch_fail(b, 0, &msg);
    if (b->failures)
        b->failures->attempts = 0;  /* never run */
    wq_buf_free(&msg);
    return r->c.keep_going;
}

/* Fills b from the input, starting with the pending item. A batch that
 * holds items goes as soon as the next one would have to be waited for, so
 * items from a slow pipe start at once. Returns 1 while items may follow,
 * 0 at the end or on a stop. */
static int fill_batch(wq_reader *r, wq_batch *b)
{
    uint32_t max = batch_size(r);
    for (;;) {
        enum wq_input_rc rc = read_pending(r, b->count == 0);
        if (rc == WQ_INPUT_LATER)
            return 1;
        if (rc != WQ_INPUT_ITEM)
            return 0;
        int file = r->file, too_long = r->too_long;
        if (b->count == 0) {
            b->file = file;
            b->first = r->index;
            b->stride = (int64_t)r->c.shard_n * (r->c.fmt->chunk ? r->c.fmt->chunk : 1);
            b->jfirst = r->t.read;  /* the journal counts chunks */
            b->jstride = r->c.shard_n;
        } else if (too_long || file != b->file || b->count >= max ||
                   b->items.len + r->len > r->batch_bytes ||
                   r->index != b->first + b->count * b->stride) {
            return 1;  /* a chunk cut short comes last in its batch */
        }
        if (wq_batch_add(b, r->item, r->len, r->line,
                         r->c.journal != NULL) < 0) {
            fail(r, WQ_STOP_MEMORY, "out of memory");
            return 0;
        }
        r->pending = 0;
        if (too_long)
            return fail_too_long(r, b);
        if (r->c.journal && carry(r, b) < 0)
            return 0;
    }
}

/* --merge of a keyed reduce: fills b from the shards' journals, with as
 * many records as the workers fold in a few ms (no item runs: the cost of
 * recent items says nothing here). Returns 1 while items follow, 0 at the
 * end or on an error. */
#define SHARD_BATCH 4096

static int fill_from_shards(wq_reader *r, wq_batch *b)
{
    int rc = wq_shards_fill(r->c.shards, b, SHARD_BATCH, &r->error);
    r->t.read = b->first + b->count - 1;
    if (rc < 0)
        fail(r, WQ_STOP_INPUT, NULL);
    return rc > 0;
}

/* Whether the record the input read last starts an item: each does,
 * but with --chunk only the first of a chunk. */
static int starts_item(wq_reader *r)
{
    return !r->c.fmt->chunk ||
           wq_chunker_add(&r->chunker, wq_input_file(r->in), wq_input_too_long(r->in));
}

/* After a stop: counts what was left unread, when that cannot block: the
 * pending item, a chunk in the making, and the items of the rest. */
static void count_rest(wq_reader *r)
{
    const char *item;
    size_t len;
    r->t.rest = r->pending;
    if (!wq_input_rest_is_regular(r->in)) {
        r->t.rest_unknown = 1;
        return;
    }
    if (r->building)
        r->t.rest += in_shard(&r->c, ++r->t.read);
    if (r->held && starts_item(r))
        r->t.rest += in_shard(&r->c, ++r->t.read);
    wq_buf err = WQ_BUF_INIT;
    enum wq_input_rc rc;
    while ((rc = wq_input_next(r->in, &item, &len, 1, &err)) == WQ_INPUT_ITEM ||
           rc == WQ_INPUT_INTERRUPTED)
        if (rc == WQ_INPUT_ITEM && starts_item(r))
            r->t.rest += in_shard(&r->c, ++r->t.read);
    if (rc == WQ_INPUT_ERROR)  /* what follows an unreadable part is not known */
        r->t.rest_unknown = 1;
    wq_buf_free(&err);
}

/* Ends the stage: the workers and the writer learn that no batch follows. */
static void finish(wq_reader *r)
{
    if (stopping(r) && r->c.shards)
        r->t.rest = wq_shards_items(r->c.shards) - r->t.read;
    else if (stopping(r))
        count_rest(r);
    else
        r->t.complete = 1;
    wq_order_close(r->c.order);
    wq_queue_close(r->c.queue);
}

static void *reader_main(void *arg)
{
    wq_reader *r = arg;
    int more = 1;
    uint64_t seq;
    wq_stop_enter(r->c.stop, r->c.slot, NULL);
    while (more && !stopping(r)) {
        wq_batch *b = wq_spares_take(r->c.spares);
        if (!b) {
            fail(r, WQ_STOP_MEMORY, "out of memory");
            break;
        }
        if (wq_order_reserve(r->c.order, &seq) < 0) {
            wq_batch_free(b);
            break;
        }
        b->seq = seq;
        more = r->c.shards ? fill_from_shards(r, b) : fill_batch(r, b);
        int failed = b->failed > 0;  /* a record too long: nothing to run */
        wq_order_weigh(r->c.order, seq, wq_batch_weight(b));
        if (b->count == 0 || failed || wq_queue_push(r->c.queue, b) < 0)
            wq_order_done(r->c.order, seq, b, 0);  /* nothing to run: hand it back */
        if (failed && !r->c.keep_going)
            fail(r, WQ_STOP_FAILED, NULL);
    }
    wq_stop_leave(r->c.stop, r->c.slot);
    finish(r);
    return NULL;
}

int wq_reader_start(wq_reader *r, wq_buf *err)
{
    int rc = pthread_create(&r->tid, NULL, reader_main, r);
    if (rc != 0) {
        wq_buf_printf(err, "cannot start the reader thread: %s", strerror(rc));
        wq_stop_request(r->c.stop, WQ_STOP_THREAD);
        finish(r);
        return -1;
    }
    r->started = 1;
    return 0;
}

void wq_reader_join(wq_reader *r)
{
    if (r->started)
        pthread_join(r->tid, NULL);
    r->started = 0;
}

void wq_reader_skip(wq_reader *r)
{
    count_rest(r);
}

const wq_readtally *wq_reader_tally(const wq_reader *r) { return &r->t; }

const wq_buf *wq_reader_error(const wq_reader *r) { return &r->error; }

/* Writes out's bytes to fd. Returns 0, or -1 with a message in r->error. */
static int write_all(wq_reader *r, int fd, wq_buf *out)
{
    const char *p = out->data;
    size_t left = out->len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            wq_buf_printf(&r->error, "cannot write the dry run's items: %s",
                          strerror(errno));
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    wq_buf_reset(out);
    return 0;
}

/* Appends the dry run's line of the pending item: built by hand, as a
 * dry run over a million lines would spend most of its time in printf. */
static int dry_line(wq_reader *r, wq_buf *out)
{
    const char *name = r->c.inputs->names[r->file];
    size_t nlen = strlen(name);
    char digits[24], *d = digits + sizeof digits;
    uint64_t line = (uint64_t)r->line;
    do
        *--d = (char)('0' + line % 10);
    while (line /= 10);
    size_t dlen = (size_t)(digits + sizeof digits - d);
    if (wq_buf_grow(out, nlen + dlen + 2) < 0)
        return -1;
    memcpy(out->data + out->len, name, nlen);
    out->data[out->len + nlen] = ':';
    memcpy(out->data + out->len + nlen + 1, d, dlen);
    out->data[out->len + nlen + 1 + dlen] = '\t';
    out->len += nlen + dlen + 2;
    if (!r->c.fmt->chunk)
        return wq_joblog_escape(out, r->item, r->len) | wq_buf_addc(out, '\n');
    const char *p = r->item, *end = r->item + r->len, *rec;
    size_t len;
    int rc = 0;
    for (int i = 0; wq_chunk_next(&p, end, &rec, &len); i++)  /* its records, tab-separated */
        rc |= (i ? wq_buf_addc(out, '\t') : 0) | wq_joblog_escape(out, rec, len);
    return rc | wq_buf_addc(out, '\n');
}

int wq_reader_dry_run(wq_reader *r, int fd)
{
    wq_buf out = WQ_BUF_INIT;
    wq_jrecord rec;
    int ok = 0;
    while (ok == 0 && read_pending(r, 1) == WQ_INPUT_ITEM) {
        r->pending = 0;
        if (r->too_long)
            continue;  /* it would fail unrun, not looked up: nothing runs */
        int found = r->c.journal ? recorded(r, r->file, &rec) : 0;
        if (found == 0 && dry_line(r, &out) < 0) {
            fail(r, WQ_STOP_MEMORY, "out of memory");
            found = -1;
        }
        ok = found < 0 ? -1 : out.len >= DRY_CHUNK ? write_all(r, fd, &out) : 0;
    }
    if (ok == 0 && stopping(r))
        ok = -1;  /* a read error: in r->error */
    if (ok == 0)
        ok = write_all(r, fd, &out);
    r->t.complete = ok == 0;
    wq_buf_free(&out);
    return ok;
}
