/*
 * writer.c - the writer stage; see writer.h.
 *
 * Producer: the workers, handing batches back to the window in any order.
 * Consumer: this stage alone, on the main thread, which takes them in
 * sequence order, so the output, the journal and the failure reports follow
 * the input. Shutdown: the reader closes the window; the writer drains what
 * was reserved and returns.
 */
#include "writer.h"

#include <stdlib.h>
#include <string.h>
#include "report.h"
#include "clock.h"

struct wq_writer {
    wq_writeconf c;
    wq_writetally t;
    int cut;                    /* a prefix met an item not processed: the
                                   batches after it count as not run */
    int64_t last;               /* the index of the last item that counts:
                                   past the failure that passed
                                   --max-failures in input order, nothing
                                   does (INT64_MAX until then) */
    int64_t ended;              /* items done or failed, cut or not */
    wq_buf err;
};

wq_writer *wq_writer_new(const wq_writeconf *conf)
{
    wq_writer *w = calloc(1, sizeof *w);
    if (w) {
        w->c = *conf;
        w->last = INT64_MAX;
    }
    return w;
}

void wq_writer_free(wq_writer *w)
{
    if (!w)
        return;
    wq_buf_free(&w->err);
    free(w);
}

const wq_writetally *wq_writer_tally(const wq_writer *w) { return &w->t; }

void wq_writer_add_busy(wq_writer *w, int64_t ns) { w->t.busy_ns += ns; }

/* Reports err (if any) once and stops the run for why. */
static void fail(wq_writer *w, enum wq_stop_reason why)
{
    if (w->err.len)
        wq_reportf("%.*s", (int)w->err.len, w->err.data);
    wq_stop_request(w->c.stop, why);
}

/* The failure report: a header line naming the item, the message, the
 * traceback. */
static void report_failure(const wq_writer *w, const wq_batch *b,
                           const wq_failure *f)
{
    wq_buf line = WQ_BUF_INIT;
    wq_buf_printf(&line, "luaworkq: item %lld (%s:%lld) failed: ",
                  (long long)f->index, w->c.names[b->file],
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
static void error_record(const wq_writer *w, const wq_batch *b,
                         const wq_failure *f, wq_buf *rec)
{
    const char *msg = f->message.data ? f->message.data : "";
    const char *tb = traceback_in(msg, f->message.len);
    size_t msglen = tb ? (size_t)(tb - msg) : f->message.len;
    const char *name = w->c.names[b->file];
    wq_buf_adds(rec, "{");
    if (w->c.attempts)
        wq_buf_printf(rec, "\"attempts\":%u,", (unsigned)f->attempts);
    wq_buf_adds(rec, "\"error\":");
    wq_codec_json_string(rec, msg, msglen);
    wq_buf_printf(rec, ",\"index\":%lld,\"input\":", (long long)f->index);
    wq_codec_json_string(rec, f->item.data ? f->item.data : "", f->item.len);
    wq_buf_printf(rec, ",\"line\":%lld,\"source\":", (long long)f->line);
    wq_codec_json_string(rec, name, strlen(name));
    wq_buf_adds(rec, ",\"traceback\":");
    wq_codec_json_string(rec, tb ? tb + 1 : "", tb ? f->message.len - msglen - 1 : 0);
    wq_buf_adds(rec, "}\n");
}

static const int journal_status[] = {
    [WQ_SLOT_RESULT] = WQ_J_RESULT,
    [WQ_SLOT_NIL] = WQ_J_NIL,
    [WQ_SLOT_FAILED] = WQ_J_FAILED,
};

/* Appends to the journal what this run did with the batch's items. */
static void journal_batch(wq_writer *w, const wq_batch *b)
{
    int rc = 0;
    wq_buf_reset(&w->err);
    for (uint32_t i = 0; i < b->count && rc == 0; i++) {
        const wq_jitem *j = &b->j[i];
        if (j->status == WQ_SLOT_NONE || j->carried)
            continue;
        wq_jrecord rec = {.index = b->jfirst + i * b->jstride, .hash = j->hash,
                          .status = journal_status[(int)j->status],
                          .data = b->jbuf.data + j->start, .len = j->end - j->start};
        rc = wq_journal_add(w->c.journal, &rec, &w->err);
    }
    if (rc < 0 || wq_journal_flush(w->c.journal, &w->err) < 0) {
        fail(w, WQ_STOP_JOURNAL);
        w->c.journal = NULL;  /* said once: the batches still coming are not
                                 recorded (the journal keeps what it had) */
    }
}

/* Reports the batch's failures, and writes them to --errors. */
static void failures(wq_writer *w, const wq_batch *b)
{
    for (const wq_failure *f = b->failures; f && f->index <= w->last; f = f->next) {
        report_failure(w, b, f);
        if (!w->c.errors)
            continue;
        wq_buf rec = WQ_BUF_INIT;
        error_record(w, b, f, &rec);
        wq_buf_reset(&w->err);
        if (wq_out_list(w->c.errors, rec.data, rec.len, &w->err) == WQ_OUT_ERROR)
            fail(w, WQ_STOP_OUTPUT);  /* the records would be lost */
        wq_buf_free(&rec);
    }
}

/* Writes the --joblog lines of the batch's finished items (joblog.h). */
static void log_batch(wq_writer *w, const wq_batch *b)
{
    wq_buf_reset(&w->err);
    if (wq_joblog_batch(w->c.joblog, b, w->c.names, w->cut, &w->err) < 0) {
        fail(w, WQ_STOP_OUTPUT);
        w->c.joblog = NULL;  /* said once: the log keeps what it had */
    }
}

/* Writes a batch's results: merged into the host's accumulator, handed to
 * the owners of its keys (then it returns 1: the shuffle has the batch),
 * or as a chunk of the list. */
static int results(wq_writer *w, wq_batch *b)
{
    wq_buf_reset(&w->err);
    if (w->c.shuffle) {
        if (wq_stop_reason(w->c.stop) == WQ_STOP_HOOK)
            return 0;  /* a failed fold: the keys are not written */
        wq_shuffle_deliver(w->c.shuffle, b);
        return 1;
    }
    if (w->c.host) {
        if (b->out.len && wq_stop_reason(w->c.stop) != WQ_STOP_HOOK &&
            wq_lua_merge_in(w->c.host, b->out.data, b->out.len, &w->err) < 0)
            wq_stop_fail(w->c.stop, WQ_STOP_HOOK, "merge", 0, &w->err);
        return 0;
    }
    int rc = wq_out_list(w->c.out, b->out.data, b->out.len, &w->err);
    if (rc == WQ_OUT_PIPE)
        wq_stop_request(w->c.stop, WQ_STOP_PIPE);
    else if (rc == WQ_OUT_ERROR)
        fail(w, WQ_STOP_OUTPUT);
    return 0;
}

/* With --max-failures in an ordered list: the position in b of the item
 * at which the failures, counted in input order, pass the bound, or -1.
 * The items a batch ran are its first done + failed. */
static int64_t crossing(const wq_writer *w, const wq_batch *b)
{
    const wq_maxfail *m = w->c.max_failures;
    int64_t failed = w->t.failed, ran = b->done + b->failed;
    /* a percentage counts from the 100th item that ended */
    int64_t at100 = m->percent >= 0 && w->ended < 100 ? 100 - w->ended - 1 : -1;
    for (const wq_failure *f = b->failures;; f = f->next) {
        int64_t pos = f ? (f->index - b->first) / b->stride : INT64_MAX;
        if (at100 >= 0 && at100 < pos && at100 < ran) {
            if (wq_maxfail_exceeded(m, failed, 100))
                return at100;
            at100 = -1;
        }
        if (!f)
            return -1;
        if (wq_maxfail_exceeded(m, ++failed, w->ended + pos + 1))
            return pos;
    }
}

/* Makes the items of b after position x count as not processed, as if the
 * stop had come before them: their results, journal records, failures,
 * log lines and retries are dropped. Without the workers' facts (out of
 * memory) b is kept whole. */
static void trim(wq_writer *w, wq_batch *b, int64_t x)
{
    uint32_t ran = b->done + b->failed;
    if (!b->facts)
        x = ran - 1;
    w->last = b->first + x * b->stride;
    for (uint32_t i = (uint32_t)x + 1; i < ran; i++) {
        wq_itemfacts *f = &b->facts[i];
        if (b->j && b->j[i].carried) {
            b->done--;
            b->carried--;
            b->nil -= b->j[i].status == WQ_SLOT_NIL;
        } else if (f->status == WQ_FACT_FAILED) {
            b->failed--;
        } else {
            b->done--;
            b->nil -= f->status == WQ_FACT_NIL;
        }
        if (f->attempts > 1) {
            b->retried--;
            b->attempts -= f->attempts;
        }
        f->status = WQ_FACT_NONE;
        if (b->j)
            b->j[i].status = WQ_SLOT_NONE;
        b->unrun++;
    }
    if (b->facts)
        b->out.len = b->facts[x].out_end;
}

/* Writes one finished batch: the journal, its failures, then its results.
 * Past the first item a stop left unprocessed, the batches of a prefix
 * write and journal no results and count their items as not processed, so
 * the output, the summary and the journal agree on where the run ended;
 * their failures are still reported (one of them may be why it stopped).
 * Returns 1 when the batch went to the shuffle. */
static int take(wq_writer *w, wq_batch *b)
{
    if (w->last != INT64_MAX) {  /* past the --max-failures stop */
        w->t.unrun += b->count;
        return 0;
    }
    if (w->c.max_failures && w->c.prefix) {
        int64_t x = crossing(w, b);
        if (x >= 0) {
            trim(w, b, x);
            w->t.too_many = 1;
            wq_stop_request(w->c.stop, WQ_STOP_FAILED);
        }
    }
    if (w->c.journal && b->j && !w->cut)
        journal_batch(w, b);
    failures(w, b);
    if (w->c.joblog)
        log_batch(w, b);
    w->t.retried += b->retried;
    w->t.attempts += b->attempts;
    w->t.failed += b->failed;
    w->ended += b->done + b->failed;
    /* The workers stop the run as the bound is passed (maxfail.h); an
     * ordered list ends at the item that passed it in input order (above),
     * other runs tell the summary why, counting the items that ended. */
    if (w->c.max_failures && !w->c.prefix && !w->t.too_many &&
        wq_maxfail_exceeded(w->c.max_failures, w->t.failed, w->ended)) {
        w->t.too_many = 1;
        wq_stop_request(w->c.stop, WQ_STOP_FAILED);
    }
    if (w->cut) {
        w->t.unrun += b->count - b->failed;
        return 0;
    }
    w->t.done += b->done;
    w->t.carried += b->carried;
    w->t.nil += b->nil;
    w->t.unrun += b->unrun;
    w->cut = w->c.prefix && b->unrun > 0;
    return results(w, b);
}

void wq_writer_drain(wq_writer *w, wq_order *order, wq_spares *spares)
{
    wq_batch *b;
    while ((b = wq_order_take(order))) {
        int64_t t0 = wq_now_ns();
        if (!take(w, b))  /* else the shuffle has it */
            wq_spares_give(spares, b);
        w->t.busy_ns += wq_now_ns() - t0;
        w->t.batches++;
        wq_progress_update(w->c.progress, w->t.done, w->t.failed, w->t.carried);
    }
}

enum wq_value_rc wq_writer_value(wq_lua *host, enum wq_format fmt, wq_out *out,
                                 wq_buf *err)
{
    wq_buf value = WQ_BUF_INIT;
    int raw = 0;
    enum wq_value_rc rc = WQ_VALUE_OK;
    int finished = wq_lua_finish(host, fmt, &value, &raw, err);
    if (finished < 0)
        rc = finished == WQ_LUA_FAILED ? WQ_VALUE_FINISH_FAILED : WQ_VALUE_UNENCODABLE;
    else if (wq_out_value(out, value.data, value.len, raw, err) == WQ_OUT_ERROR)
        rc = WQ_VALUE_WRITE_FAILED;
    wq_buf_free(&value);
    return rc;
}
