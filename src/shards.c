/*
 * shards.c - merging shard journals; see shards.h.
 *
 * Shard K of N holds the items whose (index - 1) mod N is K - 1, so walking
 * the indexes 1..items and asking the shards in turn gives every record in
 * input order; each journal is read front to back once.
 */
#include "shards.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "csvout.h"
#include "report.h"
#include "writer.h"

#define CHUNK (64 << 10)

struct part {
    wq_journal *j;
    const char *path;
    int k, n;
    int arg;                  /* its place among the journals given */
    int64_t items;
    uint64_t digest;          /* of the whole input the shard read */
};

/* Opens part i and checks it against this run's header. */
static int open_part(struct part *p, const char *path, const wq_jheader *mine,
                     wq_buf *err)
{
    wq_jheader h = WQ_JHEADER_INIT;
    p->path = path;
    p->j = wq_journal_read(path, &h, err);
    int ok = p->j && wq_jheader_compare(path, &h, mine, 1, err) == 0;
    p->k = h.shard_k;
    p->n = h.shard_n;
    wq_jheader_free(&h);
    if (ok && !wq_journal_complete(p->j, &p->items, &p->digest)) {
        wq_buf_printf(err, "%s: shard %d/%d did not finish; run it again with "
                      "its journal to complete it", path, p->k, p->n);
        ok = 0;
    }
    return ok ? 0 : -1;
}

/* Opens every part; returns them ordered by shard number, or NULL. */
static struct part *open_parts(const wq_shardconf *c, wq_buf *err)
{
    int n = c->n;
    struct part *parts = calloc((size_t)n + 1, sizeof *parts), *by = parts + 1;
    int ok = parts != NULL;
    for (int i = 0; ok && i < n; i++) {
        struct part p = {.arg = i};
        ok = open_part(&p, c->journals[i], c->header, err) == 0;
        if (ok && p.n != n)
            wq_buf_printf(err, "%s is shard %d of %d, but %d journals were given",
                          p.path, p.k, p.n, n);
        else if (ok && by[p.k - 1].j)
            wq_buf_printf(err, "%s and %s are both shard %d/%d", by[p.k - 1].path,
                          p.path, p.k, p.n);
        else if (ok && i > 0 && p.items != parts[0].items)
            wq_buf_printf(err, "%s saw %lld items, %s saw %lld: not the same input",
                          p.path, (long long)p.items, parts[0].path,
                          (long long)parts[0].items);
        else if (ok && i > 0 && p.digest != parts[0].digest)
            wq_buf_printf(err, "%s and %s read different items: not the same input",
                          p.path, parts[0].path);
        ok = ok && err->len == 0;
        if (ok)
            by[p.k - 1] = p;
        else
            wq_journal_close(p.j);
        if (ok && i == 0)
            parts[0] = p;  /* the first part, for the comparisons */
    }
    if (!ok && parts) {
        for (int i = 0; i < n; i++)
            wq_journal_close(by[i].j);
        free(parts);
        return NULL;
    }
    return parts;
}

/* -f csv/tsv: a result holds the header line in front of its row when it
 * was the first row of its shard. The first row written keeps it; the
 * others lose it, once it is checked to name the same columns (columns
 * taken from the first row of each shard could differ). Returns how many
 * bytes of rec to drop, or -1 with a message in err. */
static long table_header(const wq_shardconf *c, const wq_jrecord *rec, int64_t i,
                         wq_buf *first, wq_buf *err)
{
    size_t h = wq_csvout_header_len(c->layout == WQ_LAYOUT_TSV, rec->data, rec->len);
    if (!first->data)  /* the first row: its header stays */
        return wq_buf_add(first, rec->data, h) < 0 || wq_buf_grow(first, 1) < 0 ? -1 : 0;
    if (h && (h != first->len || memcmp(rec->data, first->data, h) != 0)) {
        wq_buf_printf(err, "item %lld: its shard wrote other columns (%.*s) than the "
                      "first shard (%.*s): define a global `columns` in the job",
                      (long long)i, (int)(h > 100 ? 100 : h - 1), rec->data,
                      (int)(first->len > 100 ? 100 : first->len - 1), first->data);
        return -1;
    }
    return (long)h;
}

/* Writes (or folds) the records of every index in order. Returns the
 * number of failed items, or -1 on an error (reported). */
static int64_t write_records(const wq_shardconf *c, struct part *by, wq_lua *host,
                             wq_out *out, wq_buf *err)
{
    int n = c->n, fold = wq_lua_has(host, WQ_MERGE);
    int64_t failed = 0;
    wq_buf chunk = WQ_BUF_INIT, header = WQ_BUF_INIT;
    long drop = 0;
    for (int64_t i = 1; i <= by[0].items; i++) {
        struct part *p = &by[(i - 1) % n];
        wq_jrecord rec;
        int found = wq_journal_lookup(p->j, i, &rec, err);
        if (found == 0)
            wq_buf_printf(err, "%s has no record of item %lld", p->path, (long long)i);
        if (found <= 0)
            break;
        if (rec.status == WQ_J_FAILED) {
            wq_reportf("item %lld (shard %d/%d) failed: %.*s", (long long)i,
                       p->k, n, (int)rec.len, rec.data);
            failed++;
        } else if (rec.status == WQ_J_RESULT && fold) {
            if (wq_lua_merge_in(host, rec.data, rec.len, err) < 0)
                break;
        } else if (rec.status == WQ_J_RESULT && wq_frame_table(c->layout) &&
                   (drop = table_header(c, &rec, i, &header, err)) < 0) {
            break;
        } else if (rec.status == WQ_J_RESULT) {
            wq_buf_add(&chunk, rec.data + drop, rec.len - (size_t)drop);
        }
        if (chunk.len >= CHUNK || (i == by[0].items && chunk.len)) {
            if (wq_out_list(out, chunk.data, chunk.len, err) != WQ_OUT_OK)
                break;
            wq_buf_reset(&chunk);
        }
    }
    wq_buf_free(&chunk);
    wq_buf_free(&header);
    return err->len ? -1 : failed;
}

/* Folds and writes every record; returns the outcome. */
static enum wq_outcome merge_parts(const wq_shardconf *c, struct part *by,
                                   wq_lua *host, wq_out *out, wq_buf *err)
{
    int64_t failed = write_records(c, by, host, out, err);
    if (failed < 0)
        return WQ_OUTCOME_REFUSED;
    enum wq_outcome outcome = failed ? WQ_OUTCOME_FAILED : WQ_OUTCOME_OK;
    if (wq_lua_has(host, WQ_MERGE)) {
        enum wq_value_rc rc = wq_writer_value(host, c->format, out, err);
        if (rc == WQ_VALUE_FINISH_FAILED) {
            wq_reportf("finish failed: %.*s", (int)err->len, err->data);
            wq_buf_reset(err);
        }
        if (rc != WQ_VALUE_OK)
            outcome = WQ_OUTCOME_FAILED;
    }
    if (failed > 0 && !c->quiet)
        wq_reportf("%lld of %lld items failed", (long long)failed,
                   (long long)by[0].items);
    return outcome;
}

/* ---- A keyed reduce's merge: the records as the batches of a run ------- */

struct wq_shardset {
    struct part *parts;         /* parts[0]: the first opened; parts[1..n]:
                                   by shard */
    int n;
    int64_t next;               /* the next item's index */
};

wq_shardset *wq_shards_open(const wq_shardconf *c, wq_buf *err)
{
    wq_shardset *s = calloc(1, sizeof *s);
    if (!c->n)
        wq_buf_adds(err, "--merge needs the journals of the shards");
    else if (!s)
        wq_buf_adds(err, "out of memory");
    if (s && c->n && (s->parts = open_parts(c, err))) {
        s->n = c->n;
        s->next = 1;
        return s;
    }
    free(s);
    return NULL;
}

void wq_shards_close(wq_shardset *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        wq_journal_close(s->parts[i + 1].j);
    free(s->parts);
    free(s);
}

int64_t wq_shards_items(const wq_shardset *s) { return s->parts[0].items; }

/* Adds item i, whose record is rec, to b, carried over as a resumed run
 * carries a journal's results. */
static int carry_record(wq_batch *b, int64_t i, const wq_jrecord *rec)
{
    if (wq_batch_add(b, "", 0, i, 1) < 0)
        return -1;
    wq_jitem *j = &b->j[b->count - 1];
    j->carried = 1;
    j->status = rec->status == WQ_J_NIL ? WQ_SLOT_NIL : WQ_SLOT_RESULT;
    j->start = b->jbuf.len;
    int rc = wq_buf_add(&b->jbuf, rec->data, rec->len);
    j->end = b->jbuf.len;
    return rc;
}

/* b holds item i alone, failed in its shard, as the record says. */
static int fail_record(wq_batch *b, int64_t i, const struct part *p, const wq_jrecord *rec)
{
    wq_buf msg = WQ_BUF_INIT;
    wq_buf_printf(&msg, "(shard %d/%d) %.*s", p->k, p->n, (int)rec->len, rec->data);
    int rc = wq_batch_add(b, "", 0, i, 1);
    if (rc == 0) {
        b->failed = 1;
        wq_batch_fail(b, 0, &msg);
    }
    wq_buf_free(&msg);
    return rc;
}

int wq_shards_fill(wq_shardset *s, wq_batch *b, uint32_t max, wq_buf *err)
{
    struct part *by = s->parts + 1;
    b->first = s->next;
    b->stride = 1;
    b->file = 0;
    while (s->next <= s->parts[0].items && b->count < max) {
        int64_t i = s->next;
        struct part *p = &by[(i - 1) % s->n];
        wq_jrecord rec;
        int found = wq_journal_lookup(p->j, i, &rec, err);
        if (found == 0)
            wq_buf_printf(err, "%s has no record of item %lld", p->path, (long long)i);
        if (found <= 0)
            return -1;
        if (rec.status == WQ_J_FAILED && b->count)
            break;  /* a failed item goes alone: it does not run */
        if (rec.status == WQ_J_FAILED)
            b->file = p->arg;  /* its report names that journal */
        int rc = rec.status == WQ_J_FAILED ? fail_record(b, i, p, &rec)
                                           : carry_record(b, i, &rec);
        if (rc < 0) {
            wq_buf_adds(err, "out of memory");
            return -1;
        }
        s->next++;
        if (b->failed)
            break;
    }
    return s->next <= s->parts[0].items;
}

enum wq_outcome wq_shards_merge(const wq_shardconf *c, wq_lua *host)
{
    wq_buf err = WQ_BUF_INIT;
    enum wq_outcome outcome = WQ_OUTCOME_REFUSED;
    signal(SIGPIPE, SIG_IGN);  /* a closed output is seen as EPIPE */
    struct part *parts = c->n ? open_parts(c, &err) : NULL;
    wq_out *out = NULL;
    if (!c->n)
        wq_buf_adds(&err, "--merge needs the journals of the shards");
    if (parts)
        out = wq_out_open(c->output, c->layout,
                          !wq_lua_has(host, WQ_MERGE), &err);
    if (out) {
        outcome = merge_parts(c, parts + 1, host, out, &err);
        if (wq_out_close(out, outcome != WQ_OUTCOME_REFUSED, &err) == WQ_OUT_PIPE)
            outcome = WQ_OUTCOME_PIPE;
    }
    if (err.len && outcome != WQ_OUTCOME_PIPE)
        wq_reportf("%.*s", (int)err.len, err.data);
    if (parts)
        for (int i = 0; i < c->n; i++)
            wq_journal_close(parts[i + 1].j);
    free(parts);
    wq_buf_free(&err);
    return outcome;
}
