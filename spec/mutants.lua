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
}
