/* chunk.c - records grouped into chunks; see chunk.h. */
#include "chunk.h"
#include "numtext.h"


void wq_chunker_init(wq_chunker *c, const wq_recfmt *f)
{
    *c = (wq_chunker){.size = f->chunk ? f->chunk : 1, .cross = f->kind == WQ_REC_WHOLE};
}

int wq_chunker_joins(const wq_chunker *c, int file, int too_long)
{
    return c->n > 0 && !wq_chunker_full(c) && (file == c->file || c->cross) && !too_long;
}

int wq_chunker_add(wq_chunker *c, int file, int too_long)
{
    int starts = !wq_chunker_joins(c, file, too_long);
    if (starts) {
        c->n = 0;
        c->file = file;
        c->alone = too_long;
    }
    c->n++;
    return starts;
}

int wq_chunker_full(const wq_chunker *c)
{
    return c->n >= c->size || c->alone;
}

int wq_chunk_add(wq_buf *chunk, const char *rec, size_t len)
{
    char head[24];
    int n = wq_numtext_int(head, (long long)len);  /* not snprintf: a record */
    head[n++] = ':';
    return wq_buf_add(chunk, head, (size_t)n) | wq_buf_add(chunk, rec, len);
}

int wq_chunk_next(const char **p, const char *end, const char **rec, size_t *len)
{
    const char *q = *p;
    size_t n = 0;
    for (; q < end && *q >= '0' && *q <= '9'; q++)
        n = n * 10 + (size_t)(*q - '0');
    if (q == *p || q == end || *q != ':' || (size_t)(end - q - 1) < n)
        return 0;
    *rec = q + 1;
    *len = n;
    *p = q + 1 + n;
    return 1;
}
