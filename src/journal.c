/*
 * journal.c - the resumable record of finished items; see journal.h.
 *
 * Record framing: a 4-byte little-endian body length, the body, and the
 * CRC-32 of the body. The body's first byte is its type:
 *   'H' header text | 'S' a run's segment starts | 'E' varint items and
 *   the 8-byte digest of every item in order: the run read its whole
 *   input | 'J' the 8-byte hash of the job script the journal is bound to
 *   from there on (a fixed script, --retry-failed) | 'R' 'N' 'F' item:
 *   varint index, 8-byte item hash, then (for 'R') the encoded result.
 * Opening scans the whole file once, checking every record; the first bad
 * one (a torn tail) and all after it are cut off.
 */
#include "journal.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_BODY (1u << 30)

/* Reads records of [off, end) of a file through a buffer. */
struct reader {
    int fd;
    off_t off, end;           /* file offset of buf.data[0]; end of the range */
    wq_buf buf;
    size_t at;                /* the next record in buf */
};

struct cursor {               /* reads the item records of one segment */
    struct reader rd;
    int valid;
    wq_jrecord head;
};

struct wq_journal {
    int fd;
    char *path;
    char *target;             /* written: the file opened, the end of path's links */
    wq_buf header;            /* header text, NUL-terminated */
    int complete;
    int64_t items;
    uint64_t digest;
    int rebound;              /* a 'J' record binds it to job */
    uint64_t job;
    int resumed;              /* it held records of an earlier run */
    struct cursor *cur;
    int ncur;
    wq_buf pending;           /* added, not yet written */
    time_t synced;
};

uint64_t wq_journal_hash(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

/* CRC-32 (IEEE), eight bytes a step ("slicing by 8"): checksumming every
 * record is most of what a journal costs. */
static uint32_t crc_table[8][256];

/* Fills the tables; called while opening, before any other thread reads. */
static void crc_init(void)
{
    if (crc_table[0][1])
        return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^
                              crc_table[0][crc_table[t - 1][i] & 0xFF];
}

static uint32_t crc32(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = c ^ (p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        c = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
            crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^
            crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
            crc_table[0][p[7]];
    }
    while (n--)
        c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t get_u32(const unsigned char *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static int put_varint(wq_buf *b, uint64_t v)
{
    unsigned char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (unsigned char)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return wq_buf_add(b, tmp, (size_t)n);
}

static const unsigned char *get_varint(const unsigned char *p, const unsigned char *end,
                                       uint64_t *v)
{
    *v = 0;
    for (int shift = 0; p < end && shift < 64; shift += 7) {
        *v |= (uint64_t)(*p & 0x7F) << shift;
        if (!(*p++ & 0x80))
            return p;
    }
    return NULL;
}

/* Makes `need` bytes from the reader's position available. Returns 1, 0
 * if the range ends first, -1 on a read error. */
static int ensure(struct reader *rd, size_t need)
{
    if (rd->buf.len - rd->at >= need)
        return 1;
    if (rd->at)
        memmove(rd->buf.data, rd->buf.data + rd->at, rd->buf.len - rd->at);
    rd->off += (off_t)rd->at;
    rd->buf.len -= rd->at;
    rd->at = 0;
    if ((off_t)need > rd->end - rd->off)
        return 0;
    if (wq_buf_grow(&rd->buf, need > 65536 ? need : 65536) < 0)
        return -1;
    while (rd->buf.len < need) {
        off_t left = rd->end - rd->off - (off_t)rd->buf.len;
        size_t room = rd->buf.cap - rd->buf.len;
        ssize_t n = pread(rd->fd, rd->buf.data + rd->buf.len,
                          (off_t)room < left ? room : (size_t)left,
                          rd->off + (off_t)rd->buf.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : 0;
        rd->buf.len += (size_t)n;
    }
    return 1;
}

/* Reads the next record's body (valid until the next call). Returns 1, 0
 * at the end or at a torn or corrupt record, -1 on a read error. */
static int next_record(struct reader *rd, wq_buf *body)
{
    int rc = ensure(rd, 8);
    if (rc <= 0)
        return rc;
    uint32_t len = get_u32((unsigned char *)rd->buf.data + rd->at);
    if (len == 0 || len > MAX_BODY)
        return 0;
    if ((rc = ensure(rd, (size_t)len + 8)) <= 0)
        return rc;
    unsigned char *p = (unsigned char *)rd->buf.data + rd->at;
    if (crc32(p + 4, len) != get_u32(p + 4 + len))
        return 0;
    body->data = (char *)p + 4;  /* a view, not owned: see the callers */
    body->len = len;
    rd->at += (size_t)len + 8;
    return 1;
}

static off_t position(const struct reader *rd) { return rd->off + (off_t)rd->at; }

/* Parses an item record's body into rec. Returns 0, or -1 if malformed. */
static int parse_item(const wq_buf *body, wq_jrecord *rec)
{
    const unsigned char *p = (unsigned char *)body->data, *end = p + body->len;
    uint64_t index;
    rec->status = *p++;
    p = get_varint(p, end, &index);
    if (!p || end - p < 8 || index == 0 || index > INT64_MAX)
        return -1;
    rec->index = (int64_t)index;
    rec->hash = 0;
    for (int i = 0; i < 8; i++)
        rec->hash |= (uint64_t)p[i] << (8 * i);
    rec->data = (const char *)p + 8;
    rec->len = (size_t)(end - p - 8);
    return 0;
}

static int is_item(int type)
{
    return type == WQ_J_RESULT || type == WQ_J_NIL || type == WQ_J_FAILED;
}

/* Moves a cursor to its next item record; invalid at the segment's end. */
static int advance(wq_journal *j, struct cursor *c, wq_buf *err)
{
    wq_buf body;
    int rc;
    c->valid = 0;
    while ((rc = next_record(&c->rd, &body)) > 0)
        if (is_item(body.data[0]) && parse_item(&body, &c->head) == 0) {
            c->valid = 1;
            return 0;
        }
    if (rc < 0 || position(&c->rd) < c->rd.end) {
        wq_buf_printf(err, "cannot read journal %s", j->path);
        return -1;
    }
    return 0;
}

static int add_cursor(wq_journal *j, off_t start, off_t end)
{
    struct cursor *c = realloc(j->cur, (size_t)(j->ncur + 1) * sizeof *c);
    if (!c)
        return -1;
    j->cur = c;
    c += j->ncur++;
    memset(c, 0, sizeof *c);
    c->rd.fd = j->fd;
    c->rd.off = start;
    c->rd.end = end;
    return 0;
}

/* Scans the file: the header, the segments, whether a run completed, and
 * where the valid records end. Returns that offset, or -1. */
static off_t scan(wq_journal *j, wq_buf *err)
{
    struct stat st;
    if (fstat(j->fd, &st) != 0)
        return -1;
    struct reader rd = {.fd = j->fd, .end = st.st_size};
    wq_buf body;
    off_t pos = 0, seg = -1;
    int rc;
    while ((rc = next_record(&rd, &body)) > 0) {
        char type = body.data[0];
        if (pos == 0 && type != 'H')
            break;
        if (type == 'H' && pos == 0) {
            wq_buf_add(&j->header, body.data + 1, body.len - 1);
            wq_buf_addc(&j->header, '\0');
        } else if (type == 'S') {
            if (seg >= 0 && add_cursor(j, seg, pos) < 0)
                rc = -1;
            seg = position(&rd);
        } else if (type == 'E') {
            uint64_t items;
            const unsigned char *p = (unsigned char *)body.data, *e = p + body.len;
            if ((p = get_varint(p + 1, e, &items)) && e - p == 8) {
                j->complete = 1;
                j->items = (int64_t)items;
                j->digest = get_u64(p);
            }
        } else if (type == 'J' && body.len == 9) {
            j->rebound = 1;
            j->job = get_u64((unsigned char *)body.data + 1);
        }
        if (rc < 0)
            break;
        pos = position(&rd);
    }
    if (rc >= 0 && seg >= 0 && add_cursor(j, seg, pos) < 0)
        rc = -1;
    wq_buf_free(&rd.buf);
    if (rc < 0) {
        wq_buf_printf(err, "cannot read journal %s: %s", j->path, strerror(errno));
        return -1;
    }
    if (pos > 0 && !j->header.len) {
        wq_buf_printf(err, "%s is not a luaworkq journal", j->path);
        return -1;
    }
    return pos;
}

static wq_journal *open_fd(const char *path, int flags, wq_buf *err)
{
    crc_init();
    wq_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        wq_buf_adds(err, "out of memory");
        return NULL;
    }
    if (flags & O_CREAT)  /* an output: never through a planted link (paths.h) */
        j->fd = wq_paths_open(path, "journal", flags, &j->target, err);
    else if ((j->fd = open(path, flags | O_CLOEXEC, 0666)) < 0)
        wq_buf_printf(err, "cannot open journal %s: %s", path, strerror(errno));
    if (j->fd < 0) {
        wq_journal_close(j);
        return NULL;
    }
    return j;
}

static int start_cursors(wq_journal *j, wq_buf *err)
{
    for (int i = 0; i < j->ncur; i++)
        if (advance(j, &j->cur[i], err) < 0)
            return -1;
    return 0;
}

/* A record is built in place at the end of the pending bytes: begin leaves
 * room for the length, end fills it in and appends the checksum. */
static size_t begin(wq_journal *j, char type)
{
    size_t at = j->pending.len;
    wq_buf_add(&j->pending, "\0\0\0\0", 4);
    wq_buf_addc(&j->pending, type);
    return at;
}

static int end(wq_journal *j, size_t at, int ok)
{
    unsigned char *body = (unsigned char *)j->pending.data + at + 4;
    size_t len = j->pending.len - at - 4;
    unsigned char crc4[4];
    if (ok && j->pending.len > at + 4 && len <= MAX_BODY) {
        put_u32(body - 4, (uint32_t)len);
        put_u32(crc4, crc32(body, len));
        if (wq_buf_add(&j->pending, crc4, 4) == 0)
            return 0;
    }
    j->pending.len = at;  /* out of memory: drop the record whole */
    return -1;
}

static int frame(wq_journal *j, const char *body, size_t len)
{
    size_t at = begin(j, body[0]);
    return end(j, at, wq_buf_add(&j->pending, body + 1, len - 1) == 0);
}

/* Whether the file, holding no valid record, is empty or the torn start of
 * the header now pending: a journal killed while it was being created. */
static int torn_header(wq_journal *j)
{
    struct stat st;
    if (fstat(j->fd, &st) != 0 || (size_t)st.st_size > j->pending.len)
        return 0;
    char buf[4096];
    for (off_t off = 0; off < st.st_size;) {
        ssize_t n = pread(j->fd, buf, sizeof buf, off);
        if (n <= 0 || memcmp(buf, j->pending.data + off, (size_t)n) != 0)
            return 0;
        off += n;
    }
    return 1;
}

#define MAGIC "luaworkq journal 1\n"

int wq_jheader_option(wq_jheader *h, const char *name, const char *value)
{
    return wq_buf_printf(&h->options, "%s %s\n", name, value);
}

void wq_jheader_free(wq_jheader *h)
{
    wq_buf_free(&h->options);
}

/* The header's text, as the journal stores it (NUL-terminated). */
static int header_text(const wq_jheader *h, wq_buf *text)
{
    return wq_buf_printf(text, MAGIC "job %016llx\n%.*s", (unsigned long long)h->job,
                         (int)h->options.len, h->options.data ? h->options.data : "") |
           wq_buf_printf(text, "shard %d/%d\n", h->shard_k, h->shard_n);
}

/* Parses a header's text into h. Returns 0, or -1 if it is not one this
 * version writes. */
static int parse_header(const char *text, wq_jheader *h)
{
    int end = 0;
    unsigned long long job;
    if (strncmp(text, MAGIC, strlen(MAGIC)) != 0 ||
        sscanf(text + strlen(MAGIC), "job %16llx\n%n", &job, &end) != 1 || !end)
        return -1;
    const char *opts = text + strlen(MAGIC) + end, *shard = opts;
    for (const char *p = opts; *p; p += strcspn(p, "\n") + 1)
        if (strncmp(p, "shard ", 6) == 0) {
            shard = p;
            break;
        }
    end = 0;
    if (strncmp(shard, "shard ", 6) != 0 ||
        sscanf(shard, "shard %d/%d\n%n", &h->shard_k, &h->shard_n, &end) != 2 ||
        shard[end] || h->shard_k < 1 || h->shard_k > h->shard_n)
        return -1;
    h->job = job;
    wq_buf_reset(&h->options);
    return wq_buf_add(&h->options, opts, (size_t)(shard - opts));
}

/* The lines of a header that are compared as text: its options, and its
 * shard unless any_shard. */
static void compared_lines(const wq_jheader *h, int any_shard, wq_buf *out)
{
    wq_buf_add(out, h->options.data, h->options.len);
    if (!any_shard)
        wq_buf_printf(out, "shard %d/%d\n", h->shard_k, h->shard_n);
    wq_buf_addc(out, '\0');
}

/* The first line of a that b lacks: its start in *p, its length returned. */
static size_t missing_line(const char *a, const char *b, const char **p)
{
    for (size_t n; *a; a += n + (a[n] == '\n')) {
        n = strcspn(a, "\n");
        const char *t = b;
        for (size_t m; *t; t += m + (t[m] == '\n')) {
            m = strcspn(t, "\n");
            if (m == n && memcmp(t, a, n) == 0)
                break;
        }
        if (!*t) {
            *p = a;
            return n;
        }
    }
    *p = NULL;
    return 0;
}

int wq_jheader_compare(const char *path, const wq_jheader *had,
                       const wq_jheader *now, int any_shard, wq_buf *err)
{
    if (had->job != now->job) {
        wq_buf_printf(err, "journal %s was made by another job script", path);
        return -1;
    }
    wq_buf x = WQ_BUF_INIT, y = WQ_BUF_INIT;
    compared_lines(had, any_shard, &x);
    compared_lines(now, any_shard, &y);
    const char *a = NULL, *b = NULL;
    int an = 0, bn = 0;
    if (x.data && y.data) {
        an = (int)missing_line(x.data, y.data, &a);
        bn = (int)missing_line(y.data, x.data, &b);
    }
    if (a || b)
        wq_buf_printf(err, "journal %s was made with other options: %.*s "
                      "(this run: %.*s)", path, a ? an : 7, a ? a : "without",
                      b ? bn : 7, b ? b : "without");
    int same = !a && !b && x.data && y.data && strcmp(x.data, y.data) == 0;
    if (!same && !a && !b)
        wq_buf_printf(err, "journal %s was made with its options in another order", path);
    wq_buf_free(&x);
    wq_buf_free(&y);
    return same ? 0 : -1;
}

/* Syncs the folder of path, so that a journal just created survives a crash
 * with its name. */
static void sync_folder(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1,
             slash ? path : ".");
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* The header of a journal that has one, parsed into *had, with the job it
 * is bound to now. Returns 0, or -1 with a message. */
static int header_of(const wq_journal *j, wq_jheader *had, wq_buf *err)
{
    if (parse_header(j->header.data, had) < 0) {
        wq_buf_printf(err, "journal %s was made by another version of luaworkq", j->path);
        return -1;
    }
    if (j->rebound)
        had->job = j->job;
    return 0;
}

/* Checks the header of a journal that has one against h; with fixed,
 * another job is accepted, and *rebind says it was another. */
static int check_header(const wq_journal *j, const wq_jheader *h, int fixed,
                        int *rebind, wq_buf *err)
{
    wq_jheader had = WQ_JHEADER_INIT;
    int rc = header_of(j, &had, err);
    *rebind = rc == 0 && fixed && had.job != h->job;
    if (*rebind)
        had.job = h->job;  /* the fixed script: the options must agree */
    if (rc == 0 && (rc = wq_jheader_compare(j->path, &had, h, 0, err)) < 0 &&
        had.job != h->job)
        wq_buf_adds(err, "\nluaworkq: --retry-failed reruns its failed items with "
                         "this script, keeping its other results");
    wq_jheader_free(&had);
    return rc;
}

/* Appends the record binding the journal to job from here on. */
static int rebind_to(wq_journal *j, uint64_t job)
{
    unsigned char hash[8];
    for (int i = 0; i < 8; i++)
        hash[i] = (unsigned char)(job >> (8 * i));
    size_t at = begin(j, 'J');
    return end(j, at, wq_buf_add(&j->pending, hash, 8) == 0);
}

static wq_journal *open_journal(const char *path, const wq_jheader *h, int fixed,
                                wq_buf *err)
{
    wq_journal *j = open_fd(path, O_RDWR | O_CREAT, err);
    int rebind = 0;
    if (!j)
        return NULL;
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(j->fd, F_SETLK, &lock) != 0) {  /* two runs would interleave */
        wq_buf_printf(err, "journal %s is in use by another run", path);
        goto fail;
    }
    off_t end = scan(j, err);
    if (end < 0 || (j->header.len && check_header(j, h, fixed, &rebind, err) < 0))
        goto fail;
    j->resumed = end > 0;
    if (end == 0) {
        wq_buf text = WQ_BUF_INIT;
        wq_buf_addc(&text, 'H');
        header_text(h, &text);
        frame(j, text.data, text.len);
        wq_buf_free(&text);
        if (!torn_header(j)) {  /* never overwrite a file of the user's */
            wq_buf_printf(err, "%s is not a luaworkq journal", path);
            goto fail;
        }
    }
    if (ftruncate(j->fd, end) != 0 || lseek(j->fd, end, SEEK_SET) < 0) {
        wq_buf_printf(err, "cannot write journal %s: %s", path, strerror(errno));
        goto fail;
    }
    frame(j, "S", 1);
    if (rebind && rebind_to(j, h->job) < 0) {
        wq_buf_adds(err, "out of memory");
        goto fail;
    }
    j->synced = time(NULL);
    if (start_cursors(j, err) < 0 || wq_journal_flush(j, err) < 0)
        goto fail;
    if (end == 0)
        sync_folder(j->target);
    return j;
fail:
    wq_journal_close(j);
    return NULL;
}

wq_journal *wq_journal_open(const char *path, const wq_jheader *h, wq_buf *err)
{
    return open_journal(path, h, 0, err);
}

wq_journal *wq_journal_open_fixed(const char *path, const wq_jheader *h, wq_buf *err)
{
    return open_journal(path, h, 1, err);
}

int wq_journal_resumed(const wq_journal *j) { return j->resumed; }

int wq_journal_peek(const char *path, const wq_jheader *h, int fixed, wq_journal **j,
                    wq_buf *err)
{
    struct stat st;
    int rebind;
    *j = NULL;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return 0;
    wq_journal *jj = open_fd(path, O_RDONLY, err);
    off_t end = jj ? scan(jj, err) : -1;
    if (end == 0) {
        wq_journal_close(jj);  /* empty: a run would start it */
        return 0;
    }
    if (end < 0 || check_header(jj, h, fixed, &rebind, err) < 0 ||
        start_cursors(jj, err) < 0) {
        wq_journal_close(jj);
        return -1;
    }
    *j = jj;
    return 0;
}

wq_journal *wq_journal_read(const char *path, wq_jheader *h, wq_buf *err)
{
    wq_journal *j = open_fd(path, O_RDONLY, err);
    if (!j)
        return NULL;
    if (scan(j, err) < 0 || start_cursors(j, err) < 0) {
        wq_journal_close(j);
        return NULL;
    }
    if (!j->header.len) {
        wq_buf_printf(err, "%s is not a luaworkq journal", path);
    } else if (parse_header(j->header.data, h) < 0) {
        wq_buf_printf(err, "%s is not the journal of a shard of this version of "
                      "luaworkq", path);
    } else {
        if (j->rebound)
            h->job = j->job;
        return j;
    }
    wq_journal_close(j);
    return NULL;
}

void wq_journal_close(wq_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    for (int i = 0; i < j->ncur; i++)
        wq_buf_free(&j->cur[i].rd.buf);
    free(j->cur);
    free(j->path);
    free(j->target);
    wq_buf_free(&j->header);
    wq_buf_free(&j->pending);
    free(j);
}

int wq_journal_complete(const wq_journal *j, int64_t *items, uint64_t *digest)
{
    *items = j->items;
    *digest = j->digest;
    return j->complete;
}

int wq_journal_lookup(wq_journal *j, int64_t index, wq_jrecord *rec, wq_buf *err)
{
    int found = 0;
    for (int i = 0; i < j->ncur; i++) {
        struct cursor *c = &j->cur[i];
        while (c->valid && c->head.index < index)
            if (advance(j, c, err) < 0)
                return -1;
        if (c->valid && c->head.index == index &&
            (!found || rec->status == WQ_J_FAILED)) {
            *rec = c->head;
            found = 1;
        }
    }
    return found;
}

int wq_journal_add(wq_journal *j, const wq_jrecord *rec, wq_buf *err)
{
    unsigned char hash[8];
    for (int i = 0; i < 8; i++)
        hash[i] = (unsigned char)(rec->hash >> (8 * i));
    size_t at = begin(j, (char)rec->status);
    int ok = put_varint(&j->pending, (uint64_t)rec->index) == 0 &&
             wq_buf_add(&j->pending, hash, 8) == 0 &&
             wq_buf_add(&j->pending, rec->data, rec->len) == 0;
    if (end(j, at, ok) == 0)
        return 0;
    wq_buf_adds(err, "out of memory");
    return -1;
}

int wq_journal_flush(wq_journal *j, wq_buf *err)
{
    const char *p = j->pending.data;
    size_t len = j->pending.len;
    while (len > 0) {
        ssize_t n = write(j->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            wq_buf_printf(err, "cannot write journal %s: %s", j->path, strerror(errno));
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    wq_buf_reset(&j->pending);
    time_t now = time(NULL);
    if (now != j->synced) {
        fdatasync(j->fd);
        j->synced = now;
    }
    return 0;
}

int wq_journal_end(wq_journal *j, int64_t items, uint64_t digest, wq_buf *err)
{
    unsigned char d[8];
    for (int i = 0; i < 8; i++)
        d[i] = (unsigned char)(digest >> (8 * i));
    size_t at = begin(j, 'E');
    if (end(j, at, put_varint(&j->pending, (uint64_t)items) == 0 &&
                   wq_buf_add(&j->pending, d, 8) == 0) < 0) {
        wq_buf_adds(err, "out of memory");
        return -1;
    }
    int rc = wq_journal_flush(j, err);
    if (rc == 0)
        fdatasync(j->fd);
    return rc;
}
