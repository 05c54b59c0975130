/* SPDX-License-Identifier: Apache-2.0 */
/* Concurrency through the C ABI (runs under TSan in CI: the name contains "thread"): several threads log
 * through one handle, mixing refused events (each thread sees its own last error), while another thread
 * flushes and reads stats, and a tracker made from the same logger is driven from two more threads. */
#include "c_test_support.h"

#include <pthread.h>

enum { kLoggers = 4, kEvents = 300, kRequests = 50 };

struct ctx {
  fa_logger* logger;
  fa_tracker* tracker;
  int index;
  int accepted;
  int wrong_message; /* a refused event whose fa_last_error() was not this thread's */
};

/* C99 has no atomics: the reader's stop flag is guarded by a mutex. */
static pthread_mutex_t stop_mu = PTHREAD_MUTEX_INITIALIZER;
static int stop_flag = 0;

static int should_stop(void) {
  int s;
  pthread_mutex_lock(&stop_mu);
  s = stop_flag;
  pthread_mutex_unlock(&stop_mu);
  return s;
}

static void* logging_thread(void* arg) {
  struct ctx* c = (struct ctx*)arg;
  int i;
  for (i = 0; i < kEvents; ++i) {
    char ev[160];
    snprintf(ev, sizeof ev, "{\"event_type\":\"c_test.thread\",\"thread\":%d,\"i\":%d}", c->index, i);
    if (fa_logger_log(c->logger, ev, strlen(ev)) == FA_OK) ++c->accepted;
    if (i % 25 == 0) {
      /* A refusal whose message names this thread's own member. */
      char bad[160], want[64];
      snprintf(bad, sizeof bad, "{\"event_type\":\"c_test.thread\",\"m%d\":1,\"m%d\":2}", c->index, c->index);
      snprintf(want, sizeof want, "duplicate member \"m%d\"", c->index);
      if (fa_logger_log(c->logger, bad, strlen(bad)) != FA_INVALID_ARGUMENT || strstr(fa_last_error(), want) == NULL)
        ++c->wrong_message;
    }
  }
  return NULL;
}

static void* reader_thread(void* arg) {
  struct ctx* c = (struct ctx*)arg;
  while (!should_stop()) {
    char* out = NULL;
    size_t len = 0;
    if (fa_logger_stats(c->logger, &out, &len) == FA_OK) fa_free(out);
    if (fa_logger_head(c->logger, &out, &len) == FA_OK) fa_free(out);
    (void)fa_logger_flush(c->logger);
  }
  return NULL;
}

static void* tracker_thread(void* arg) {
  struct ctx* c = (struct ctx*)arg;
  int i;
  for (i = 0; i < kRequests; ++i) {
    char id[64];
    snprintf(id, sizeof id, "req_%d_%d", c->index, i);
    if (fa_tracker_submitted(c->tracker, id, strlen(id), "{\"user_id\":\"u\"}", 15) == FA_OK &&
        fa_tracker_queued(c->tracker, id, strlen(id), i) == FA_OK &&
        fa_tracker_started(c->tracker, id, strlen(id), "gpu", 3) == FA_OK &&
        fa_tracker_failed(c->tracker, id, strlen(id), "boom", 4, 0) == FA_OK)
      ++c->accepted;
  }
  return NULL;
}

int main(void) {
  char* root = fa_test_temp_dir("threads");
  char* dir = strdup(fa_test_join(root, "log"));
  pthread_t threads[kLoggers + 3];
  struct ctx ctxs[kLoggers + 3];
  fa_tracker* tracker = NULL;
  fa_logger* l = fa_test_open_logger(dir, ",\"durability\":\"group_commit\",\"queue_capacity\":128");
  int i, total = 0;
  char* out = NULL;
  size_t len = 0;

  if (l == NULL) return fa_test_finish("test_c_threads");
  CHECK_OK(fa_tracker_create(l, NULL, 0, &tracker));
  memset(ctxs, 0, sizeof ctxs);
  for (i = 0; i < kLoggers + 3; ++i) {
    ctxs[i].logger = l;
    ctxs[i].tracker = tracker;
    ctxs[i].index = i;
  }
  for (i = 0; i < kLoggers; ++i) CHECK(pthread_create(&threads[i], NULL, logging_thread, &ctxs[i]) == 0);
  CHECK(pthread_create(&threads[kLoggers], NULL, reader_thread, &ctxs[kLoggers]) == 0);
  CHECK(pthread_create(&threads[kLoggers + 1], NULL, tracker_thread, &ctxs[kLoggers + 1]) == 0);
  CHECK(pthread_create(&threads[kLoggers + 2], NULL, tracker_thread, &ctxs[kLoggers + 2]) == 0);
  for (i = 0; i < kLoggers; ++i) CHECK(pthread_join(threads[i], NULL) == 0);
  CHECK(pthread_join(threads[kLoggers + 1], NULL) == 0);
  CHECK(pthread_join(threads[kLoggers + 2], NULL) == 0);
  pthread_mutex_lock(&stop_mu);
  stop_flag = 1;
  pthread_mutex_unlock(&stop_mu);
  CHECK(pthread_join(threads[kLoggers], NULL) == 0);

  for (i = 0; i < kLoggers; ++i) {
    CHECK(ctxs[i].accepted == kEvents);
    CHECK(ctxs[i].wrong_message == 0);
    total += ctxs[i].accepted;
  }
  CHECK(ctxs[kLoggers + 1].accepted == kRequests);
  CHECK(ctxs[kLoggers + 2].accepted == kRequests);

  fa_tracker_destroy(tracker);
  CHECK_OK(fa_logger_close(l));
  CHECK_OK(fa_logger_stats(l, &out, &len));
  if (out) {
    /* Tracker events (4 per request) went through the same logger. */
    CHECK(fa_test_json_u64(out, "accepted", 0) == (unsigned long long)(total + 2 * kRequests * 4));
    CHECK(fa_test_json_u64(out, "written", 0) == (unsigned long long)(total + 2 * kRequests * 4));
  }
  fa_free(out);
  fa_logger_destroy(l);

  out = fa_test_verify(dir, NULL);
  CHECK(out != NULL);
  if (out) {
    CHECK(fa_test_json_bool(out, "intact") == 1);
    CHECK(fa_test_json_u64(out, "records", 0) >= (unsigned long long)(total + 2 * kRequests * 4));
  }
  fa_free(out);
  fa_test_rm_tree(root);
  free(dir);
  free(root);
  return fa_test_finish("test_c_threads");
}
