/* SPDX-License-Identifier: Apache-2.0 */
/* ChainVerifier through the C ABI: an intact log, a tampered one (intact false with findings), a truncated one
 * caught by the anchor, options and their errors. */
#include "c_test_support.h"

#define STR(s) (s), strlen(s)

static const char* kSegment = "segment-00000000000000000000.jsonl";

static char* verify(fa_verifier* v, const char* path, fa_status expected) {
  char* out = NULL;
  size_t len = 0;
  fa_status st = fa_verifier_verify_path(v, path, strlen(path), &out, &len);
  CHECK(st == expected);
  if (st != expected) fprintf(stderr, "  verify %s -> %s: %s\n", path, fa_strerror(st), fa_last_error());
  return out;
}

/* Reads a whole file (malloc'ed, *n bytes) or NULL. */
static char* read_all(const char* path, size_t* n) {
  FILE* f = fopen(path, "rb");
  char* buf;
  long size;
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = (char*)malloc((size_t)size + 1);
  if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
    fclose(f);
    free(buf);
    return NULL;
  }
  fclose(f);
  *n = (size_t)size;
  return buf;
}

int main(void) {
  char* root = fa_test_temp_dir("verifier");
  char* dir = strdup(fa_test_join(root, "log"));
  char* segment;
  char* anchor = strdup(fa_test_join(root, "anchor"));
  char extra[2048];
  char opts[2048];
  fa_logger* l;
  fa_verifier* v = NULL;
  char* out;
  size_t len = 0;
  int i;

  snprintf(extra, sizeof extra, ",\"durability\":\"always\",\"anchor_path\":\"%s\"", anchor);
  l = fa_test_open_logger(dir, extra);
  if (l == NULL) return fa_test_finish("test_c_verifier");
  for (i = 0; i < 20; ++i) {
    char ev[128];
    snprintf(ev, sizeof ev, "{\"event_type\":\"c_test.event\",\"n\":%d}", i);
    CHECK_OK(fa_logger_log(l, ev, strlen(ev)));
  }
  CHECK_OK(fa_logger_close(l));
  fa_logger_destroy(l);
  segment = strdup(fa_test_join(dir, kSegment));

  /* Option errors. */
  CHECK_STATUS(fa_verifier_create(NULL, 0, NULL), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_verifier_create(STR("{\"thread\":1}"), &v), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("options: unknown member \"thread\"");
  CHECK_STATUS(fa_verifier_create(STR("{\"threads\":65}"), &v), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_verifier_create(STR("{\"expected_log_id\":\"ABC\"}"), &v), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("options.expected_log_id");
  CHECK_STATUS(fa_verifier_create(STR("{\"anchor_path\":\"/nonexistent/anchor\"}"), &v), FA_NOT_FOUND);
  CHECK_STATUS(fa_verifier_create(STR("{\"trusted_key_paths\":[\"/nonexistent/key\"]}"), &v), FA_NOT_FOUND);
  CHECK_ERROR_HAS("options.trusted_key_paths[0]");
  CHECK_STATUS(fa_verifier_create(STR("{\"trusted_keys\":[\"not a key\"]}"), &v), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("options.trusted_keys[0]");
  CHECK_STATUS(fa_verifier_create(STR("{\"trusted_keys\":\"x\"}"), &v), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_verifier_create(STR("{\"max_findings\":1.5}"), &v), FA_INVALID_ARGUMENT);
  CHECK(v == NULL);

  /* Intact, with the anchor the logger saved. */
  snprintf(opts, sizeof opts, "{\"anchor_path\":\"%s\",\"threads\":2,\"max_findings\":100,\"mac_key_path\":\"\"}",
           anchor);
  CHECK_OK(fa_verifier_create(opts, strlen(opts), &v));
  if (v == NULL) return fa_test_finish("test_c_verifier");
  out = verify(v, dir, FA_OK);
  if (out) {
    CHECK(fa_test_json_bool(out, "intact") == 1);
    CHECK(fa_test_json_bool(out, "anchor_checked") == 1);
    CHECK(fa_test_json_u64(out, "records", 0) >= 21);
  }
  fa_free(out);
  out = verify(v, segment, FA_OK); /* one segment file */
  if (out) CHECK(fa_test_json_bool(out, "intact") == 1);
  fa_free(out);

  /* Tampered: one byte of an event changed. */
  {
    size_t n = 0;
    char* bytes = read_all(segment, &n);
    char* hit;
    CHECK(bytes != NULL);
    if (bytes) {
      hit = strstr(bytes, "\"n\":7");
      CHECK(hit != NULL);
      if (hit) hit[4] = '8';
      CHECK(fa_test_write_file(segment, bytes, n) == 0);
      out = verify(v, dir, FA_OK);
      if (out) {
        CHECK(fa_test_json_bool(out, "intact") == 0);
        CHECK(fa_test_json_u64(out, "findings_total", 0) >= 1);
        CHECK(strstr(out, "\"reason\": \"hash_mismatch\"") != NULL || strstr(out, "\"reason\":\"hash_mismatch\"") != NULL);
      }
      fa_free(out);
      /* Truncated: the last line removed. The chain alone cannot tell; the anchor does. */
      if (hit) hit[4] = '7';
      {
        size_t cut = n - 1;
        while (cut > 0 && bytes[cut - 1] != '\n') --cut;
        CHECK(fa_test_write_file(segment, bytes, cut) == 0);
      }
      out = verify(v, dir, FA_OK);
      if (out) CHECK(fa_test_json_bool(out, "intact") == 0);
      fa_free(out);
      out = fa_test_verify(dir, NULL);
      if (out) CHECK(fa_test_json_bool(out, "intact") == 1);
      fa_free(out);
      free(bytes);
    }
  }

  /* Another log id expected: reported as a finding. */
  {
    fa_verifier* v2 = NULL;
    CHECK_OK(fa_verifier_create(STR("{\"expected_log_id\":\"0123456789abcdef0123456789abcdef\"}"), &v2));
    out = verify(v2, dir, FA_OK);
    if (out) {
      CHECK(fa_test_json_bool(out, "intact") == 0);
      CHECK(strstr(out, "log_id_mismatch") != NULL);
    }
    fa_free(out);
    fa_verifier_destroy(v2);
  }

  /* Path errors. */
  out = verify(v, fa_test_join(root, "missing"), FA_NOT_FOUND);
  CHECK(out == NULL);
  CHECK_STATUS(fa_verifier_verify_path(v, NULL, 0, &out, &len), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_verifier_verify_path(v, "a\0b", 3, &out, &len), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("NUL");
  CHECK_STATUS(fa_verifier_verify_path(v, "\xff", 1, &out, &len), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_verifier_verify_path(v, dir, strlen(dir), NULL, &len), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_verifier_verify_path(NULL, dir, strlen(dir), &out, &len), FA_INVALID_HANDLE);

  fa_verifier_destroy(v);
  CHECK_STATUS(fa_verifier_verify_path(v, dir, strlen(dir), &out, &len), FA_INVALID_HANDLE);
  CHECK_ERROR_HAS("destroyed");
  fa_verifier_destroy(NULL);

  fa_test_rm_tree(root);
  free(segment);
  free(anchor);
  free(dir);
  free(root);
  return fa_test_finish("test_c_verifier");
}
