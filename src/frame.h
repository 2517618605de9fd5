/*
 * frame.h - the result layouts of -f, and how list results are framed.
 *
 * Workers frame each list result as they make it, so the writer only
 * concatenates: for json a result is preceded by ',' (the writer drops the
 * first one and adds the brackets), for ndjson, lines, csv and tsv it ends
 * with '\n' (a csv or tsv row is one line; csvout.h puts the header line in
 * front of the first).
 * A merged value is not framed.
 */
#ifndef WQ_FRAME_H
#define WQ_FRAME_H

#include "buf.h"

enum wq_layout {
    WQ_LAYOUT_JSON, WQ_LAYOUT_NDJSON, WQ_LAYOUT_LINES, WQ_LAYOUT_CSV, WQ_LAYOUT_TSV
};

/* Whether results are rows of a table, with a header line (csvout.h). */
static inline int wq_frame_table(enum wq_layout l)
{
    return l == WQ_LAYOUT_CSV || l == WQ_LAYOUT_TSV;
}

#define WQ_FRAME_SEP ','    /* before every json result */

static inline int wq_frame_open(wq_buf *b, enum wq_layout l)
{
    return l == WQ_LAYOUT_JSON ? wq_buf_addc(b, WQ_FRAME_SEP) : 0;
}

static inline int wq_frame_close(wq_buf *b, enum wq_layout l)
{
    return l == WQ_LAYOUT_JSON ? 0 : wq_buf_addc(b, '\n');
}

#endif
