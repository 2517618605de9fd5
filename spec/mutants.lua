-- The mutants of scripts/mutants: small wrong changes to src/, each the
-- kind of slip a refactor makes, and the tests that must catch it. `from`
-- must occur exactly once in `file`; `why` says what the change breaks.
return {
  -- queue.c: the window
  {file = "src/queue.c", from = "o->bytes >= o->budget", to = "o->bytes > o->budget",
   tests = {"c_queue"}, why = "a window at its byte budget takes one more batch"},
  {file = "src/queue.c", from = "(o->unordered ? o->ndone : o->ready) >= o->ahead",
   to = "(o->unordered ? o->ndone : o->ready) > o->ahead",
   tests = {"c_queue"}, why = "the writer may fall one batch further behind"},
  {file = "src/queue.c", from = "while (o->next_take + o->ready < o->next_seq &&",
   to = "while (o->next_take + o->ready <= o->next_seq &&",
   tests = {"c_queue"}, why = "ready batches miscounted when every slot is held"},
  -- maxfail.c: --max-failures
  {file = "src/maxfail.c", from = "return failed > m->count;", to = "return failed >= m->count;",
   tests = {"stopped_run_spec"}, why = "N failures stop a run that N allows"},
  {file = "src/maxfail.c", from = "return finished >= 100 && (double)failed",
   to = "return (double)failed", tests = {"stopped_run_spec"},
   why = "a percentage stops a run before 100 items finished"},
  {file = "src/maxfail.c", from = "(double)failed * 100.0 > m->percent",
   to = "(double)failed * 100.0 >= m->percent", tests = {"stopped_run_spec"},
   why = "P% of failures stops a run that P% allows"},
  -- codec.c: strings, numbers, keys
  {file = "src/codec.c", from = "if (c >= 0xC2 && c <= 0xDF) {", to = "if (c >= 0xC0 && c <= 0xDF) {",
   tests = {"c_codec", "json_spec", "json_exact_spec"}, why = "overlong UTF-8 kept"},
  {file = "src/codec.c", from = "hi = c == 0xED ? 0x9F : 0xBF;", to = "hi = 0xBF;",
   tests = {"c_codec", "json_spec", "json_exact_spec"}, why = "UTF-8 surrogates kept"},
  {file = "src/codec.c", from = "c >= 0x20 && c < 0x80 && c != '\"'",
   to = "c >= 0x1F && c < 0x80 && c != '\"'",
   tests = {"c_codec", "json_spec", "json_exact_spec"}, why = "U+001F written unescaped"},
  {file = "src/codec.c", from = "int p = x >= DBL_MIN ? 15 : 1;", to = "int p = x >= DBL_MIN ? 16 : 1;",
   tests = {"c_codec", "json_exact_spec"}, why = "floats of 15 digits written with 16"},
  {file = "src/codec.c", from = "if (e < -4 || e >= 16) {", to = "if (e < -4 || e > 16) {",
   tests = {"c_codec", "json_exact_spec"}, why = "1e16 written positionally"},
  {file = "src/codec.c", from = "if (la == lb && memcmp(a, b, la) == 0)",
   to = "if (la == lb && memcmp(a, b, la) < 0)",
   tests = {"c_codec", "json_spec", "json_exact_spec"}, why = "colliding keys written twice"},
  -- journal.c: records
  {file = "src/journal.c", from = "if (crc32(p + 4, len) != get_u32(p + 4 + len))",
   to = "if (0 && crc32(p + 4, len) != get_u32(p + 4 + len))",
   tests = {"c_journal", "journal_spec"}, why = "a flipped record read as another"},
  {file = "src/journal.c", from = "if (had->job != now->job) {", to = "if (0) {",
   tests = {"c_journal", "journal_spec"}, why = "a journal of another job script resumed"},
  {file = "src/journal.c", from = "return same ? 0 : -1;", to = "return 0;",
   tests = {"c_journal", "journal_spec"}, why = "a journal made with other options resumed"},
  -- writer.c: the in-order prefix
  {file = "src/writer.c", from = "w->cut = w->c.prefix && b->unrun > 0;",
   to = "w->cut = 0;",
   tests = {"errors_spec", "stop_spec", "stopped_run_spec", "journal_spec"},
   why = "results after an unprocessed item written after a stop"},
  -- shards.c: --merge
  {file = "src/shards.c", from = "struct part *p = &by[(i - 1) % n];",
   to = "struct part *p = &by[i % n];", tests = {"shard_spec"},
   why = "items looked up in the wrong shard's journal"},
}
