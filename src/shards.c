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
#include "journal.h"
#include "output.h"
#include "report.h"

#define CHUNK (64 << 10)

struct part {
    wq_journal *j;
    const char *path;
    int k, n;
    int64_t items;
    uint64_t digest;          /* of the whole input the shard read */
};

/* Opens part i and checks it against the header prefix of this job. */
static int open_part(struct part *p, const char *path, const char *prefix,
                     wq_buf *err)
{
    const char *header;
    p->path = path;
    if (!(p->j = wq_journal_read(path, &header, err)))
        return -1;
    const char *shard = strstr(header, "\nshard ");
    size_t before = shard ? (size_t)(shard - header) + 1 : 0;
    const char *after = shard ? shard + 1 + strcspn(shard + 1, "\n") : "";
    if (shard && (strncmp(header, prefix, before) != 0 || prefix[before] ||
                  strcmp(after, "\n") != 0)) {
        wq_buf rest = WQ_BUF_INIT;  /* the header without its shard line */
        wq_buf_add(&rest, header, before);
        wq_buf_adds(&rest, *after ? after + 1 : after);
        wq_buf_addc(&rest, '\0');
        wq_journal_mismatch(path, rest.data, prefix, err);
        wq_buf_free(&rest);
        return -1;
    }
    if (!shard || sscanf(shard + 1, "shard %d/%d", &p->k, &p->n) != 2 || p->k < 1 ||
        p->k > p->n) {
        wq_buf_printf(err, "%s is not the journal of a shard", path);
        return -1;
    }
    if (!wq_journal_complete(p->j, &p->items, &p->digest)) {
        wq_buf_printf(err, "%s: shard %d/%d did not finish; run it again with "
                      "its journal to complete it", path, p->k, p->n);
        return -1;
    }
    return 0;
}

/* Opens every part; returns them ordered by shard number, or NULL. */
static struct part *open_parts(const wq_opts *o, wq_buf *err)
{
    wq_buf prefix = WQ_BUF_INIT;
    wq_run_header(o, &prefix);
    char *shard = strstr(prefix.data, "\nshard ");
    shard[1] = '\0';
    int n = o->ninputs;
    struct part *parts = calloc((size_t)n + 1, sizeof *parts), *by = parts + 1;
    int ok = parts != NULL;
    for (int i = 0; ok && i < n; i++) {
        struct part p = {0};
        ok = open_part(&p, o->inputs[i], prefix.data, err) == 0;
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
    wq_buf_free(&prefix);
    if (!ok && parts) {
        for (int i = 0; i < n; i++)
            wq_journal_close(by[i].j);
        free(parts);
        return NULL;
    }
    return parts;
}

/* Writes (or folds) the records of every index in order. Returns the
 * number of failed items, or -1 on an error (reported). */
static int64_t replay(const wq_opts *o, struct part *by, wq_lua *host,
                      wq_out *out, wq_buf *err)
{
    int n = o->ninputs, fold = wq_lua_has(host, WQ_MERGE);
    int64_t failed = 0;
    wq_buf chunk = WQ_BUF_INIT;
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
        } else if (rec.status == WQ_J_RESULT) {
            wq_buf_add(&chunk, rec.data, rec.len);
        }
        if (chunk.len >= CHUNK || (i == by[0].items && chunk.len)) {
            if (wq_out_list(out, chunk.data, chunk.len, err) != WQ_OUT_OK)
                break;
            wq_buf_reset(&chunk);
        }
    }
    wq_buf_free(&chunk);
    return err->len ? -1 : failed;
}

int wq_shards_merge(const wq_opts *o, wq_lua *host)
{
    wq_buf err = WQ_BUF_INIT;
    int code = WQ_EXIT_USAGE;
    signal(SIGPIPE, SIG_IGN);  /* a closed output is seen as EPIPE */
    struct part *parts = o->ninputs ? open_parts(o, &err) : NULL;
    wq_out *out = NULL;
    if (!o->ninputs)
        wq_buf_adds(&err, "--merge needs the journals of the shards");
    if (parts)
        out = wq_out_open(o->output, o->layout, !wq_lua_has(host, WQ_MERGE), &err);
    if (out) {
        int64_t failed = replay(o, parts + 1, host, out, &err);
        code = failed < 0 ? WQ_EXIT_USAGE : failed ? WQ_EXIT_FAILED : WQ_EXIT_OK;
        if (failed >= 0 && wq_lua_has(host, WQ_MERGE)) {
            wq_buf value = WQ_BUF_INIT;
            int raw = 0;
            if (wq_lua_finish(host, wq_layout_format(o->layout), &value, &raw, &err) == -1) {
                wq_reportf("finish failed: %.*s", (int)err.len, err.data);
                wq_buf_reset(&err);
                code = WQ_EXIT_FAILED;
            } else if (err.len) {
                code = WQ_EXIT_FAILED;
            } else {
                wq_out_value(out, value.data, value.len, raw, &err);
            }
            wq_buf_free(&value);
        }
        if (failed > 0 && !o->quiet)
            wq_reportf("%lld of %lld items failed", (long long)failed,
                       (long long)parts[1].items);
        if (wq_out_close(out, code != WQ_EXIT_USAGE, &err) == WQ_OUT_PIPE)
            code = 128 + SIGPIPE;
    }
    if (err.len && code != 128 + SIGPIPE)
        wq_reportf("%.*s", (int)err.len, err.data);
    if (parts)
        for (int i = 0; i < o->ninputs; i++)
            wq_journal_close(parts[i + 1].j);
    free(parts);
    wq_buf_free(&err);
    return code;
}
