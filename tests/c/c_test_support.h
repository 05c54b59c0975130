/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the tests in tests/c/: checks that report and count, temporary directories, small JSON probes.
 * Each test program includes this header once (it defines functions). Pure C99 + POSIX. */
#ifndef FA_C_TEST_SUPPORT_H
#define FA_C_TEST_SUPPORT_H

#if !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fooocus_audit/fooocus_audit.h"

static int fa_test_failures = 0;
static int fa_test_checks = 0;

#define CHECK(cond)                                                                                      \
  do {                                                                                                   \
    ++fa_test_checks;                                                                                    \
    if (!(cond)) {                                                                                       \
      ++fa_test_failures;                                                                                \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: \"%s\")\n", __FILE__, __LINE__, #cond,       \
              fa_last_error());                                                                          \
    }                                                                                                    \
  } while (0)

/* Checks that a call returns `code`; prints the status name and the last error when it does not. */
#define CHECK_STATUS(call, code)                                                                         \
  do {                                                                                                   \
    fa_status fa_st_ = (call);                                                                           \
    ++fa_test_checks;                                                                                    \
    if (fa_st_ != (code)) {                                                                              \
      ++fa_test_failures;                                                                                \
      fprintf(stderr, "%s:%d: %s returned %s (%d), expected %s (last error: \"%s\")\n", __FILE__,        \
              __LINE__, #call, fa_strerror(fa_st_), fa_st_, fa_strerror(code), fa_last_error());         \
    }                                                                                                    \
  } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, FA_OK)

/* The last error contains `needle`. */
#define CHECK_ERROR_HAS(needle)                                                                          \
  do {                                                                                                   \
    ++fa_test_checks;                                                                                    \
    if (strstr(fa_last_error(), (needle)) == NULL) {                                                     \
      ++fa_test_failures;                                                                                \
      fprintf(stderr, "%s:%d: last error \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,          \
              fa_last_error(), (needle));                                                                \
    }                                                                                                    \
  } while (0)

static inline int fa_test_finish(const char* name) {
  if (fa_test_failures > 0) {
    fprintf(stderr, "%s: %d of %d checks FAILED\n", name, fa_test_failures, fa_test_checks);
    return 1;
  }
  printf("%s: all %d checks passed\n", name, fa_test_checks);
  return 0;
}

/* ---- temporary directories -------------------------------------------------------------------------- */

static inline int fa_test_rm_entry(const char* path, const struct stat* sb, int flag, struct FTW* ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Removes a directory tree (errors ignored). */
static inline void fa_test_rm_tree(const char* dir) { (void)nftw(dir, fa_test_rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* A new empty directory under TMPDIR (or /tmp); the caller frees the string after fa_test_rm_tree(). */
static inline char* fa_test_temp_dir(const char* tag) {
  const char* base = getenv("TMPDIR");
  size_t n;
  char* path;
  if (base == NULL || base[0] == '\0') base = "/tmp";
  n = strlen(base) + strlen(tag) + 32;
  path = (char*)malloc(n);
  if (path == NULL) abort();
  snprintf(path, n, "%s/fa-c-%s-XXXXXX", base, tag);
  if (mkdtemp(path) == NULL) {
    perror("mkdtemp");
    abort();
  }
  return path;
}

/* dir + "/" + name in a static buffer (one at a time). */
static inline const char* fa_test_join(const char* dir, const char* name) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", dir, name);
  return buf;
}

/* Writes bytes to a file (created or truncated, mode 0600). Returns 0 on success. */
static inline int fa_test_write_file(const char* path, const char* data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  size_t done = 0;
  if (fd < 0) return -1;
  while (done < len) {
    ssize_t w = write(fd, data + done, len - done);
    if (w <= 0) {
      close(fd);
      return -1;
    }
    done += (size_t)w;
  }
  return close(fd);
}

/* ---- JSON probes (enough for the library's own, well-formed output) ---------------------------------- */

/* The unsigned number after "key": in json (pretty-printed or compact), or `missing` when absent. */
static inline unsigned long long fa_test_json_u64(const char* json, const char* key, unsigned long long missing) {
  char pattern[256];
  const char* p;
  snprintf(pattern, sizeof pattern, "\"%s\"", key);
  p = strstr(json, pattern);
  if (p == NULL) return missing;
  p += strlen(pattern);
  while (*p == ' ' || *p == ':' || *p == '\n') ++p;
  if (*p < '0' || *p > '9') return missing;
  return strtoull(p, NULL, 10);
}

/* 1 when "key": true, 0 when "key": false, -1 otherwise. */
static inline int fa_test_json_bool(const char* json, const char* key) {
  char pattern[256];
  const char* p;
  snprintf(pattern, sizeof pattern, "\"%s\"", key);
  p = strstr(json, pattern);
  if (p == NULL) return -1;
  p += strlen(pattern);
  while (*p == ' ' || *p == ':' || *p == '\n') ++p;
  if (strncmp(p, "true", 4) == 0) return 1;
  if (strncmp(p, "false", 5) == 0) return 0;
  return -1;
}

/* Verifies a log directory with default options; returns the summary (fa_free it) or NULL. */
static inline char* fa_test_verify(const char* path, const char* options_json) {
  fa_verifier* v = NULL;
  char* out = NULL;
  size_t len = 0;
  if (fa_verifier_create(options_json, options_json ? strlen(options_json) : 0, &v) != FA_OK) {
    fprintf(stderr, "fa_verifier_create: %s\n", fa_last_error());
    return NULL;
  }
  if (fa_verifier_verify_path(v, path, strlen(path), &out, &len) != FA_OK) {
    fprintf(stderr, "fa_verifier_verify_path: %s\n", fa_last_error());
    out = NULL;
  }
  fa_verifier_destroy(v);
  return out;
}

/* Opens a logger on dir with extra config members (",\"durability\":\"none\"" or ""). */
static inline fa_logger* fa_test_open_logger(const char* dir, const char* extra) {
  char config[8192];
  fa_logger* l = NULL;
  snprintf(config, sizeof config, "{\"dir\":\"%s\"%s}", dir, extra ? extra : "");
  if (fa_logger_open(config, strlen(config), &l) != FA_OK) {
    fprintf(stderr, "fa_logger_open(%s): %s\n", config, fa_last_error());
    return NULL;
  }
  return l;
}

#endif /* FA_C_TEST_SUPPORT_H */
