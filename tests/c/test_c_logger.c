/* SPDX-License-Identifier: Apache-2.0 */
/* The logger through the C ABI: lifecycle, every error path, handles, fa_last_error, and "a refused event
 * leaves the logger usable and loses nothing accepted before it" checked with the verifier. */
#include "c_test_support.h"

#include <pthread.h>

static size_t slen(const char* s) { return strlen(s); }

/* Logs n valid custom events; returns how many were accepted. */
static int log_valid(fa_logger* l, int first, int n) {
  int ok = 0, i;
  for (i = first; i < first + n; ++i) {
    char ev[256];
    snprintf(ev, sizeof ev, "{\"event_type\":\"c_test.event\",\"n\":%d,\"text\":\"caf\xc3\xa9 \\u0000 ok\"}", i);
    if (fa_logger_log(l, ev, slen(ev)) == FA_OK) ++ok;
    else fprintf(stderr, "valid event %d refused: %s\n", i, fa_last_error());
  }
  return ok;
}

static void test_static_functions(void) {
  int code;
  static const char* names[] = {"ok",         "invalid_argument", "io_error",  "locked",
                                "corruption", "closed",           "dropped",   "too_large",
                                "not_found",  "internal",         "invalid_handle", "no_memory"};
  for (code = 0; code <= 11; ++code) CHECK(strcmp(fa_strerror(code), names[code]) == 0);
  CHECK(strcmp(fa_strerror(-1), "unknown") == 0);
  CHECK(strcmp(fa_strerror(12), "unknown") == 0);
  CHECK(strcmp(fa_strerror(1 << 30), "unknown") == 0);
  CHECK(strcmp(fa_version(), "0.1.0") == 0);
  CHECK(fa_abi_version() >= FA_ABI_VERSION);
  CHECK(fa_abi_version() == 2);
  fa_free(NULL); /* allowed */
}

static void test_open_errors(const char* root) {
  fa_logger* l = (fa_logger*)0x1; /* must be reset to NULL on failure */
  const char* cfg;
  char buf[1024];

  CHECK_STATUS(fa_logger_open("{\"dir\":\"x\"}", 10, NULL), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("out");

  CHECK_STATUS(fa_logger_open(NULL, 0, &l), FA_INVALID_ARGUMENT); /* empty input is not an object */
  CHECK(l == NULL);
  l = (fa_logger*)0x1;
  CHECK_STATUS(fa_logger_open(NULL, 5, &l), FA_INVALID_ARGUMENT);
  CHECK(l == NULL);
  CHECK_ERROR_HAS("NULL pointer");

  cfg = "{\"dir\": ";
  CHECK_STATUS(fa_logger_open(cfg, slen(cfg), &l), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("invalid JSON");
  cfg = "[{\"dir\":\"/tmp\"}]";
  CHECK_STATUS(fa_logger_open(cfg, slen(cfg), &l), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("not an array");
  cfg = "{}";
  CHECK_STATUS(fa_logger_open(cfg, slen(cfg), &l), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("config.dir: is required");

  snprintf(buf, sizeof buf, "{\"dir\":\"%s/a\",\"colour\":\"blue\"}", root);
  CHECK_STATUS(fa_logger_open(buf, slen(buf), &l), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("unknown member \"colour\"");
  snprintf(buf, sizeof buf, "{\"dir\":\"%s/a\",\"durability\":\"sometimes\"}", root);
  CHECK_STATUS(fa_logger_open(buf, slen(buf), &l), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("config.durability: must be one of none, group_commit, always");
  snprintf(buf, sizeof buf, "{\"dir\":\"%s/a\",\"queue_capacity\":-1}", root);
  CHECK_STATUS(fa_logger_open(buf, slen(buf), &l), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("config.queue_capacity");
  snprintf(buf, sizeof buf, "{\"dir\":\"%s/a\",\"group_commit_interval_ms\":1.5}", root);
  CHECK_STATUS(fa_logger_open(buf, slen(buf), &l), FA_INVALID_ARGUMENT);
  snprintf(buf, sizeof buf, "{\"dir\":\"%s/a\",\"dir\":\"%s/b\"}", root, root);
  CHECK_STATUS(fa_logger_open(buf, slen(buf), &l), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("duplicate member \"dir\"");
  snprintf(buf, sizeof buf, "{\"dir\":\"%s/a\\u0000b\"}", root);
  CHECK_STATUS(fa_logger_open(buf, slen(buf), &l), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("NUL");
  snprintf(buf, sizeof buf, "{\"dir\":\"%s/a\",\"signer_state_path\":\"%s/s\"}", root, root);
  CHECK_STATUS(fa_logger_open(buf, slen(buf), &l), FA_INVALID_ARGUMENT);
  snprintf(buf, sizeof buf, "{\"dir\":\"%s/a\",\"signing_key_path\":\"%s/no-such-key\"}", root, root);
  CHECK_STATUS(fa_logger_open(buf, slen(buf), &l), FA_NOT_FOUND);
  CHECK_ERROR_HAS("config.signing_key_path");
  snprintf(buf, sizeof buf, "{\"dir\":\"%s/no/such/parent\"}", root);
  CHECK(fa_logger_open(buf, slen(buf), &l) != FA_OK);
  CHECK(l == NULL);
}

/* Builds {"event_type":"c_test.deep","x": [[[...]]] } with `levels` arrays; malloc'ed. */
static char* deep_event(size_t levels, size_t* len) {
  const char* head = "{\"event_type\":\"c_test.deep\",\"x\":";
  size_t h = strlen(head), n = h + 2 * levels + 1, i;
  char* s = (char*)malloc(n + 1);
  if (s == NULL) abort();
  memcpy(s, head, h);
  for (i = 0; i < levels; ++i) s[h + i] = '[';
  for (i = 0; i < levels; ++i) s[h + levels + i] = ']';
  s[n - 1] = '}';
  s[n] = '\0';
  *len = n;
  return s;
}

/* Throws bad input at a live logger; each must be refused with a clear status and message. Returns the number
 * of bad inputs thrown. */
static int throw_bad_inputs(fa_logger* l) {
  int kinds = 0;
  size_t len;
  char* big;
  const char* ev;

#define BAD(data, n, code, needle)                     \
  do {                                                 \
    CHECK_STATUS(fa_logger_log(l, (data), (n)), code); \
    CHECK_ERROR_HAS(needle);                           \
    ++kinds;                                           \
  } while (0)

  BAD(NULL, 10, FA_INVALID_ARGUMENT, "event: NULL pointer with length 10");
  BAD("", 0, FA_INVALID_ARGUMENT, "event: invalid JSON");
  ev = "{\"event_type\":\"c_test.event\",";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "event: invalid JSON");
  ev = "[{\"event_type\":\"c_test.event\"}]";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "must be a JSON object, not an array");
  ev = "\"c_test.event\"";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "must be a JSON object, not a string");
  ev = "{\"event_type\":\"c_test.event\"} {}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "invalid JSON");
  ev = "{\"event_type\":\"c_test.event\"}garbage";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "invalid JSON");
  ev = "{\"event_type\":\"c_test.event\"}]";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "expected end of input");

  big = deep_event(100000, &len);
  BAD(big, len, FA_INVALID_ARGUMENT, "nested deeper than 64 levels");
  free(big);
  big = deep_event(64, &len); /* the object itself is level 1: 65 levels */
  BAD(big, len, FA_INVALID_ARGUMENT, "nested deeper than 64 levels");
  free(big);
  big = deep_event(63, &len); /* 64 levels: parsed, then the logger's own limit (63) refuses it */
  CHECK(fa_logger_log(l, big, len) == FA_INVALID_ARGUMENT);
  ++kinds;
  free(big);

  /* 64 MiB of string content: more than FA_MAX_JSON_BYTES with the braces around it. */
  {
    const char* head = "{\"event_type\":\"c_test.event\",\"s\":\"";
    size_t h = strlen(head), body = (size_t)64 * 1024 * 1024, n = h + body + 2;
    big = (char*)malloc(n);
    if (big == NULL) abort();
    memcpy(big, head, h);
    memset(big + h, 'a', body);
    big[h + body] = '"';
    big[h + body + 1] = '}';
    BAD(big, n, FA_TOO_LARGE, "more than the limit of 67108864");
    free(big);
  }
  /* Larger than the logger's max_event_bytes (4096 in this test) but within the JSON limit. */
  {
    const char* head = "{\"event_type\":\"c_test.event\",\"s\":\"";
    size_t h = strlen(head), body = 10000, n = h + body + 2;
    big = (char*)malloc(n);
    if (big == NULL) abort();
    memcpy(big, head, h);
    memset(big + h, 'b', body);
    big[h + body] = '"';
    big[h + body + 1] = '}';
    CHECK(fa_logger_log(l, big, n) == FA_TOO_LARGE);
    ++kinds;
    free(big);
  }

  ev = "{\"event_type\":\"c_test.event\",\"s\":\"bad \xff byte\"}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "invalid UTF-8 at byte 38");
  ev = "{\"event_type\":\"c_test.event\",\"s\":\"overlong \xc0\xaf\"}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "invalid UTF-8 at byte 43");
  ev = "{\"event_type\":\"c_test.event\",\"s\":\"surrogate \xed\xa0\x80\"}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "invalid UTF-8 at byte 44");
  ev = "{\"event_type\":\"c_test.event\",\"s\":\"truncated \xe2\x82\"}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "invalid UTF-8 at byte 44");
  ev = "{\"event_type\":\"c_test.event\",\xfe\"s\":1}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "invalid UTF-8 at byte 29");
  ev = "{\"event_type\":\"c_test.event\",\"s\":\"lone \\ud800 escape\"}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "invalid JSON");
  /* A raw NUL byte inside a string and after the object (the length covers it). */
  {
    static const char nul_in_string[] = "{\"event_type\":\"c_test.event\",\"s\":\"a\0b\"}";
    static const char nul_after[] = "{\"event_type\":\"c_test.event\"}\0";
    static const char nul_then_more[] = "{\"event_type\":\"c_test.event\"}\0{\"x\":1}";
    BAD(nul_in_string, sizeof nul_in_string - 1, FA_INVALID_ARGUMENT, "raw NUL byte at byte 35");
    BAD(nul_after, sizeof nul_after - 1, FA_INVALID_ARGUMENT, "raw NUL byte at byte 29");
    BAD(nul_then_more, sizeof nul_then_more - 1, FA_INVALID_ARGUMENT, "raw NUL byte at byte 29");
  }
  ev = "{\"event_type\":\"c_test.event\",\"s\":1,\"s\":2}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "duplicate member \"s\"");
  ev = "{\"n\":1}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "event_type");
  ev = "{\"event_type\":\"log.opened\"}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "reserved");
  ev = "{\"event_type\":\"generation.queued\",\"request_id\":\"r\",\"queue_position\":\"first\"}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "queue_position");
  ev = "{\"event_type\":\"c_test.event\",\"x\":1e400}";
  CHECK(fa_logger_log(l, ev, slen(ev)) == FA_INVALID_ARGUMENT);
  ++kinds;
  ev = "{\"event_type\":\"c_test.event\",\"x\":NaN}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "invalid JSON");
  ev = "{\"event_type\":\"c_test.event\" /* comment */}";
  BAD(ev, slen(ev), FA_INVALID_ARGUMENT, "invalid JSON");
#undef BAD
  return kinds;
}

/* The message of a refused event never quotes the event's values. */
static void test_messages_hide_values(fa_logger* l) {
  const char* ev = "{\"event_type\":\"c_test.event\",\"password\":\"hunter2-SECRET\" trailing}";
  CHECK(fa_logger_log(l, ev, slen(ev)) == FA_INVALID_ARGUMENT);
  CHECK(strstr(fa_last_error(), "hunter2") == NULL);
  ev = "{\"event_type\":\"c_test.event\",\"password\":\"hunter2-SECRET\xff\"}";
  CHECK(fa_logger_log(l, ev, slen(ev)) == FA_INVALID_ARGUMENT);
  CHECK(strstr(fa_last_error(), "hunter2") == NULL);
  ev = "{\"event_type\":\"c_test.event\",\"AKIAIOSFODNN7EXAMPLE\":1,\"AKIAIOSFODNN7EXAMPLE\":2}";
  CHECK(fa_logger_log(l, ev, slen(ev)) == FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("duplicate member");
  CHECK(strstr(fa_last_error(), "AKIA") == NULL);
  ev = "{\"event_type\":\"c_test.event\",\"password\":tru3hunter2}";
  CHECK(fa_logger_log(l, ev, slen(ev)) == FA_INVALID_ARGUMENT);
  CHECK(strstr(fa_last_error(), "hunter2") == NULL);
  CHECK(strstr(fa_last_error(), "tru3") == NULL);
  /* A number too large for a double: nlohmann's message quotes it ("number overflow parsing '...'"). */
  ev = "{\"event_type\":\"c_test.event\",\"card\":4111111111111111e400}";
  CHECK(fa_logger_log(l, ev, slen(ev)) == FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("out of the range of a double");
  CHECK(strstr(fa_last_error(), "41111") == NULL);
}

static void test_out_params(fa_logger* l) {
  char* out = (char*)0x1;
  size_t len = 7;
  CHECK_STATUS(fa_logger_stats(l, NULL, &len), FA_INVALID_ARGUMENT);
  CHECK(len == 0);
  CHECK_STATUS(fa_logger_stats(l, &out, NULL), FA_INVALID_ARGUMENT);
  CHECK(out == NULL);
  CHECK_STATUS(fa_logger_head(l, NULL, NULL), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_logger_info(l, NULL, NULL), FA_INVALID_ARGUMENT);
  out = (char*)0x1;
  len = 7;
  CHECK_STATUS(fa_logger_stats(NULL, &out, &len), FA_INVALID_HANDLE);
  CHECK(out == NULL && len == 0);
}

static void test_null_handles(void) {
  char* out = NULL;
  size_t len = 0;
  CHECK_STATUS(fa_logger_log(NULL, "{}", 2), FA_INVALID_HANDLE);
  CHECK_ERROR_HAS("NULL handle");
  CHECK_STATUS(fa_logger_flush(NULL), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_logger_close(NULL), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_logger_stats(NULL, &out, &len), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_logger_head(NULL, &out, &len), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_logger_info(NULL, &out, &len), FA_INVALID_HANDLE);
  fa_logger_destroy(NULL); /* allowed */
}

struct thread_result {
  char before[256];
  char after[256];
  fa_status status;
};

static void* other_thread(void* arg) {
  struct thread_result* r = (struct thread_result*)arg;
  fa_verifier* v = NULL;
  const char* opts = "{\"threads\":1000}";
  snprintf(r->before, sizeof r->before, "%s", fa_last_error());
  r->status = fa_verifier_create(opts, strlen(opts), &v);
  snprintf(r->after, sizeof r->after, "%s", fa_last_error());
  return NULL;
}

static void test_last_error_is_thread_local(void) {
  pthread_t t;
  struct thread_result r;
  const char* cfg = "[1]";
  fa_logger* l = NULL;
  CHECK_STATUS(fa_logger_open(cfg, slen(cfg), &l), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("config: must be a JSON object, not an array");
  memset(&r, 0, sizeof r);
  CHECK(pthread_create(&t, NULL, other_thread, &r) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(r.before[0] == '\0'); /* a new thread starts without an error */
  CHECK(r.status == FA_INVALID_ARGUMENT);
  CHECK(strstr(r.after, "options.threads") != NULL);
  /* This thread's message is untouched by the other thread's failure... */
  CHECK_ERROR_HAS("config: must be a JSON object, not an array");
  /* ... and by this thread's successful calls. */
  CHECK(strcmp(fa_strerror(0), "ok") == 0);
  CHECK_ERROR_HAS("config: must be a JSON object, not an array");
}

/* A relative dir and anchor_path are resolved at open: after the process changes directory (Fooocus's launcher does
 * os.chdir) the logger still writes new segments and the anchor where the log was opened. */
static void test_relative_paths_survive_chdir(const char* root) {
  char cwd[2048], other[2048], cfg[512], path[4096];
  fa_logger* l = NULL;
  const char* c = "{\"dir\":\"rel-log\",\"anchor_path\":\"rel.anchor\",\"max_segment_bytes\":4096}";
  struct stat st;
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  snprintf(other, sizeof other, "%s/elsewhere", root);
  CHECK(mkdir(other, 0700) == 0);
  CHECK(chdir(root) == 0);
  snprintf(cfg, sizeof cfg, "%s", c);
  CHECK_OK(fa_logger_open(cfg, slen(cfg), &l));
  CHECK(chdir(other) == 0);
  if (l != NULL) {
    /* ~100 events of ~100 bytes: more than one 4 KiB segment, so the writer opens new files after the chdir. */
    CHECK(log_valid(l, 0, 100) == 100);
    CHECK_OK(fa_logger_flush(l));
    CHECK_OK(fa_logger_close(l));
    fa_logger_destroy(l);
  }
  CHECK(chdir(cwd) == 0);
  snprintf(path, sizeof path, "%s/rel-log/segment-00000000000000000000.jsonl", root);
  CHECK(stat(path, &st) == 0);
  snprintf(path, sizeof path, "%s/rel.anchor", root);
  CHECK(stat(path, &st) == 0);
  snprintf(path, sizeof path, "%s/rel.anchor", other);
  CHECK(stat(path, &st) != 0);
  snprintf(path, sizeof path, "%s/rel-log", other);
  CHECK(stat(path, &st) != 0);
}

int main(void) {
  char* root = fa_test_temp_dir("logger");
  char* dir = strdup(fa_test_join(root, "log"));
  char anchor[2048];
  char cfg[4096];
  fa_logger* l = NULL;
  char* out = NULL;
  size_t len = 0;
  int accepted = 0, bad;

  test_static_functions();
  test_open_errors(root);
  test_null_handles();
  test_last_error_is_thread_local();
  test_relative_paths_survive_chdir(root);

  snprintf(anchor, sizeof anchor, "%s/head.anchor", root);
  snprintf(cfg, sizeof cfg,
           "{\"dir\":\"%s\",\"durability\":\"always\",\"max_event_bytes\":4096,\"queue_capacity\":64,"
           "\"anchor_path\":\"%s\",\"overflow\":\"block\",\"max_segment_bytes\":1048576,"
           "\"max_segment_age_s\":3600,\"group_commit_interval_ms\":5,\"file_mode\":384}",
           dir, anchor);
  CHECK_OK(fa_logger_open(cfg, slen(cfg), &l));
  if (l == NULL) return fa_test_finish("test_c_logger");

  /* A second writer on the same directory is refused: the lock. */
  {
    fa_logger* second = NULL;
    CHECK_STATUS(fa_logger_open(cfg, slen(cfg), &second), FA_LOCKED);
    CHECK(second == NULL);
  }

  accepted += log_valid(l, 0, 100);
  CHECK(accepted == 100);
  bad = throw_bad_inputs(l);
  CHECK(bad >= 20);
  test_messages_hide_values(l);
  test_out_params(l);
  accepted += log_valid(l, 100, 100);
  CHECK(accepted == 200);
  CHECK_OK(fa_logger_flush(l));

  CHECK_OK(fa_logger_stats(l, &out, &len));
  CHECK(out != NULL && len == strlen(out));
  if (out) {
    CHECK(fa_test_json_u64(out, "accepted", 0) == 200);
    CHECK(fa_test_json_u64(out, "durable", 0) == 200);
    CHECK(fa_test_json_u64(out, "dropped", 1) == 0);
  }
  fa_free(out);
  CHECK_OK(fa_logger_info(l, &out, &len));
  if (out) {
    CHECK(strstr(out, "\"log_id\":\"") != NULL);
    CHECK(strstr(out, dir) != NULL);
  }
  fa_free(out);
  CHECK_OK(fa_logger_head(l, &out, &len));
  if (out) CHECK(strstr(out, "\"seq\":") != NULL && strstr(out, "\"head\":\"") != NULL);
  fa_free(out);

  CHECK_OK(fa_logger_close(l));
  CHECK_OK(fa_logger_close(l)); /* idempotent */
  CHECK_STATUS(fa_logger_log(l, "{\"event_type\":\"c_test.event\"}", 29), FA_CLOSED);
  CHECK_STATUS(fa_logger_flush(l), FA_CLOSED);
  {
    unsigned long long records = 0;
    CHECK_OK(fa_logger_stats(l, &out, &len)); /* still readable after close */
    if (out) {
      CHECK(fa_test_json_u64(out, "accepted", 0) == 200);
      CHECK(fa_test_json_u64(out, "written", 0) == 200);
      records = fa_test_json_u64(out, "records", 0);
    }
    fa_free(out);
    /* Nothing accepted was lost: the log verifies, anchored at the head the logger saved, and holds every record
     * the writer sealed (200 events + its own system records). */
    snprintf(cfg, sizeof cfg, "{\"anchor_path\":\"%s\"}", anchor);
    out = fa_test_verify(dir, cfg);
    CHECK(out != NULL);
    if (out) {
      CHECK(fa_test_json_bool(out, "intact") == 1);
      CHECK(fa_test_json_bool(out, "anchor_checked") == 1);
      CHECK(fa_test_json_u64(out, "records", 0) == records);
      CHECK(records >= 201);
      CHECK(fa_test_json_u64(out, "findings_total", 1) == 0);
    }
    fa_free(out);
  }

  /* Use after destroy and double destroy are detected; a handle of another kind is refused. */
  fa_logger_destroy(l);
  CHECK_STATUS(fa_logger_log(l, "{\"event_type\":\"c_test.event\"}", 29), FA_INVALID_HANDLE);
  CHECK_ERROR_HAS("destroyed");
  CHECK_STATUS(fa_logger_flush(l), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_logger_stats(l, &out, &len), FA_INVALID_HANDLE);
  fa_logger_destroy(l); /* detected, ignored */
  CHECK_ERROR_HAS("destroyed");
  {
    fa_verifier* v = NULL;
    CHECK_OK(fa_verifier_create(NULL, 0, &v));
    CHECK_STATUS(fa_logger_log((fa_logger*)v, "{}", 2), FA_INVALID_HANDLE);
    CHECK_ERROR_HAS("wrong kind of handle");
    fa_logger_destroy((fa_logger*)v); /* refused: the verifier stays usable */
    CHECK_STATUS(fa_verifier_verify_path(v, dir, strlen(dir), &out, &len), FA_OK);
    fa_free(out);
    fa_verifier_destroy(v);
  }
  /* The directory can be opened again once the handle is gone (the lock was released). */
  snprintf(cfg, sizeof cfg, "{\"dir\":\"%s\",\"durability\":\"none\"}", dir);
  l = NULL;
  CHECK_OK(fa_logger_open(cfg, slen(cfg), &l));
  CHECK(log_valid(l, 200, 1) == 1);
  fa_logger_destroy(l); /* closes */
  out = fa_test_verify(dir, NULL);
  if (out) CHECK(fa_test_json_bool(out, "intact") == 1);
  fa_free(out);

  fa_test_rm_tree(root);
  free(dir);
  free(root);
  return fa_test_finish("test_c_logger");
}
