/* summary.c - the line that ends a stopped run; see summary.h. */
#include "summary.h"

/* The counts; "stopped" or "interrupted" first unless every item ran. */
static void counts(const wq_summary *s, wq_buf *line)
{
    if (s->signal || s->left || s->left_unknown) {
        wq_buf_adds(line, s->signal ? "interrupted" : "stopped");
        if (s->why)
            wq_buf_printf(line, " (%s)", s->why);
        wq_buf_printf(line, ": %lld done, %lld failed, %lld%s not processed",
                      (long long)s->done, (long long)s->failed, (long long)s->left,
                      s->left_unknown ? "+" : "");
        return;
    }
    wq_buf_printf(line, "%lld done, %lld failed", (long long)s->done, (long long)s->failed);
    if (s->why)
        wq_buf_printf(line, " (%s)", s->why);
}

void wq_summary_line(const wq_summary *s, wq_buf *line)
{
    counts(s, line);
    if (s->merge && s->value)
        wq_buf_adds(line, "; the merged value written is partial, of the items done");
    else if (s->merge)
        wq_buf_adds(line, "; no merged value written (--partial writes the items done)");
    if (s->merge && !s->value && s->output)
        wq_buf_printf(line, "; %s left as it was", s->output);
    else if (s->output && s->output_kept && !s->merge)
        wq_buf_printf(line, "; %s holds the first %lld result%s", s->output,
                      (long long)s->results, s->results == 1 ? "" : "s");
    if (s->journal)
        wq_buf_adds(line, "; run the same command again to resume");
}
