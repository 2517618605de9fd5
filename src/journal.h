/*
 * journal.h - the record of finished items that makes a run resumable.
 *
 * A journal is one append-only file of checksummed records. The first is
 * the header, binding the journal to the job (a hash of the script) and to
 * the options that change results. Each run appends a segment: a start
 * record, then one record per finished item (its index, a hash of the item,
 * its status and its encoded result), in input order, and an end record
 * when the run read its whole input. A record torn by a crash fails its
 * checksum and is cut off when the journal is opened again. A run that
 * takes over a journal of another version of the job script
 * (wq_journal_open_fixed) appends a record binding it to its own script;
 * the last such record counts instead of the header's job.
 *
 * Reading merges the segments of one or more journals by item index, so a
 * resumed run, or the merge of shards, sees for each index the record that
 * counts (a success over a failure). No threads, no Lua.
 */
#ifndef WQ_JOURNAL_H
#define WQ_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

typedef struct wq_journal wq_journal;

enum wq_jstatus { WQ_J_RESULT = 'R', WQ_J_NIL = 'N', WQ_J_FAILED = 'F' };

typedef struct wq_jrecord {
    int64_t index;
    uint64_t hash;           /* of the item's bytes */
    int status;              /* enum wq_jstatus */
    const char *data;        /* the encoded result, valid until the next read */
    size_t len;
} wq_jrecord;

/* 64-bit hash of bytes (FNV-1a): the item hash and the job hash. */
uint64_t wq_journal_hash(const char *p, size_t len);
/* The digest of a whole input: folds the next item's hash into d (start
 * from 0), in order, so that shards can tell they read the same input. */
static inline uint64_t wq_journal_digest(uint64_t d, uint64_t item_hash)
{
    return (d ^ item_hash) * 1099511628211ull + 1;
}

/* The header binds a journal to the job and to the options that change
 * results: a run may resume a journal only under an equal header, and the
 * shards of one run differ only in their shard. */
typedef struct wq_jheader {
    uint64_t job;               /* wq_journal_hash of the job script */
    wq_buf options;             /* one "name value\n" line per option */
    int shard_k, shard_n;       /* --shard K/N; 1/1 without */
} wq_jheader;

#define WQ_JHEADER_INIT {0, WQ_BUF_INIT, 1, 1}

/* Adds the line "name value" to h's options. Returns 0 or -1. */
int wq_jheader_option(wq_jheader *h, const char *name, const char *value);
void wq_jheader_free(wq_jheader *h);
/* Whether two headers agree (in everything but the shard if any_shard):
 * returns 0, or -1 with a message naming journal `path` and what differs:
 * the job, an option, or the version of luaworkq. */
int wq_jheader_compare(const char *path, const wq_jheader *had,
                       const wq_jheader *now, int any_shard, wq_buf *err);

/* Opens (creating it if missing) the journal at path for a run under
 * header h, through wq_paths_open: never through a link another user
 * planted (paths.h). An existing journal with another header is refused with a
 * message saying what differs. Returns NULL with a message in err. */
wq_journal *wq_journal_open(const char *path, const wq_jheader *h, wq_buf *err);
/* For --retry-failed: as wq_journal_open, but a journal made by another
 * version of the job script (the fix of the bug that failed its items) is
 * accepted when the options agree; from this run on it is bound to h's
 * job, so the same command without --retry-failed resumes it too. */
wq_journal *wq_journal_open_fixed(const char *path, const wq_jheader *h, wq_buf *err);
/* Whether the journal held records of an earlier run when it was opened:
 * this run resumes it. */
int wq_journal_resumed(const wq_journal *j);
/* For --dry-run: the journal at path checked as wq_journal_open (or, with
 * fixed, wq_journal_open_fixed) would check it, opened for reading only:
 * nothing is written and no lock is taken. A missing or empty file is no
 * journal: *j is NULL then. Returns 0, or -1 with a message in err. */
int wq_journal_peek(const char *path, const wq_jheader *h, int fixed, wq_journal **j,
                    wq_buf *err);
/* Opens an existing journal for reading only (--merge); its header is
 * parsed into *h (free it with wq_jheader_free), with the job it is bound
 * to now. */
wq_journal *wq_journal_read(const char *path, wq_jheader *h, wq_buf *err);
void wq_journal_close(wq_journal *j);

/* Whether the journal holds a segment that read its whole input, how many
 * items that input had, and their digest (wq_journal_digest over all of them). */
int wq_journal_complete(const wq_journal *j, int64_t *items, uint64_t *digest);

/* The record that counts for index, if any (1) or none (0); -1 on a read
 * error. Calls must come in increasing index order. */
int wq_journal_lookup(wq_journal *j, int64_t index, wq_jrecord *rec, wq_buf *err);

/* Appends a record to this run's segment, in memory until the next flush. */
int wq_journal_add(wq_journal *j, const wq_jrecord *rec, wq_buf *err);
/* Writes what was added to the file (where a kill -9 cannot take it back);
 * syncs the file to disk when the last sync is a second old. */
int wq_journal_flush(wq_journal *j, wq_buf *err);
/* Appends and flushes the end record: this run read its whole input, of
 * `items` items with that digest. */
int wq_journal_end(wq_journal *j, int64_t items, uint64_t digest, wq_buf *err);

#endif
