/* SPDX-License-Identifier: Apache-2.0 */
/* The logger's key and policy members through the C ABI: forward-secure MACs, signed checkpoints appended to an
 * anchor file, the secret guard and the monitor, all checked by the verifier with the auditor's keys. The keys
 * come from `fooocus-audit keygen` (FA_CLI_PATH). */
#include "c_test_support.h"

#ifndef FA_CLI_PATH
#error "tests/CMakeLists.txt defines FA_CLI_PATH for the C tests"
#endif

static int copy_file(const char* from, const char* to) {
  char buf[4096];
  size_t n;
  FILE* in = fopen(from, "rb");
  FILE* out;
  if (in == NULL) return -1;
  out = fopen(to, "wb");
  if (out == NULL) {
    fclose(in);
    return -1;
  }
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  fclose(in);
  if (fclose(out) != 0) return -1;
  return chmod(to, 0600);
}

/* Opens a logger with `extra` members, logs n events (one carrying an AWS key), closes it; returns its stats. */
static char* run_logger(const char* dir, const char* extra, int n) {
  fa_logger* l = fa_test_open_logger(dir, extra);
  char* out = NULL;
  size_t len = 0;
  int i;
  CHECK(l != NULL);
  if (l == NULL) return NULL;
  for (i = 0; i < n; ++i) {
    char ev[256];
    if (i == 3)
      snprintf(ev, sizeof ev, "{\"event_type\":\"c_test.event\",\"note\":\"key AKIAIOSFODNN7EXAMPLE pasted\"}");
    else
      snprintf(ev, sizeof ev, "{\"event_type\":\"c_test.event\",\"n\":%d}", i);
    CHECK_OK(fa_logger_log(l, ev, strlen(ev)));
  }
  CHECK_OK(fa_logger_close(l));
  CHECK_OK(fa_logger_stats(l, &out, &len));
  fa_logger_destroy(l);
  return out;
}

int main(void) {
  char* root = fa_test_temp_dir("keys");
  char keys[2048], cmd[4096], extra[8192], opts[8192], dir[2048], dir2[2048];
  char *stats, *out;

  snprintf(keys, sizeof keys, "%s/keys", root);
  snprintf(dir, sizeof dir, "%s/log", root);
  snprintf(dir2, sizeof dir2, "%s/log2", root);
  snprintf(cmd, sizeof cmd, "'%s' keygen --out '%s' --origin c-test > /dev/null 2>&1", FA_CLI_PATH, keys);
  CHECK(system(cmd) == 0);
  /* The auditor keeps the MAC seed: the writer converts its own copy into its evolving state. */
  {
    char from[2100], to[2100];
    snprintf(from, sizeof from, "%s/mac.key", keys);
    snprintf(to, sizeof to, "%s/auditor-mac.key", root);
    CHECK(copy_file(from, to) == 0);
  }

  snprintf(extra, sizeof extra,
           ",\"durability\":\"always\",\"mac_key_path\":\"%s/mac.key\",\"mac_epoch_records\":7,"
           "\"signing_key_path\":\"%s/signing.key\",\"signer_state_path\":\"%s/signer.state\","
           "\"checkpoint_records\":10,\"checkpoint_anchor_path\":\"%s/checkpoints.anchor\","
           "\"secret_guard\":{\"enabled\":true,\"detectors\":[\"aws_access_key\"]},\"monitor_default_rules\":true",
           keys, keys, root, root);
  stats = run_logger(dir, extra, 40);
  CHECK(stats != NULL);
  if (stats) {
    CHECK(fa_test_json_u64(stats, "accepted", 0) == 40);
    CHECK(fa_test_json_u64(stats, "secrets_redacted", 0) == 1);
    CHECK(fa_test_json_u64(stats, "checkpoints", 0) >= 3);
    CHECK(fa_test_json_u64(stats, "checkpoints_unsigned", 1) == 0);
    CHECK(fa_test_json_u64(stats, "mac_epoch", 0) >= 4);
  }
  fa_free(stats);

  snprintf(opts, sizeof opts,
           "{\"mac_key_path\":\"%s/auditor-mac.key\",\"trusted_key_paths\":[\"%s/verifier.key\"],"
           "\"checkpoint_anchor_paths\":[\"%s/checkpoints.anchor\"]}",
           root, keys, root);
  out = fa_test_verify(dir, opts);
  CHECK(out != NULL);
  if (out) {
    CHECK(fa_test_json_bool(out, "intact") == 1);
    CHECK(fa_test_json_bool(out, "uses_macs") == 1);
    CHECK(fa_test_json_u64(out, "macs_checked", 0) >= 40);
    CHECK(fa_test_json_u64(out, "checkpoints_verified", 0) >= 3);
    CHECK(fa_test_json_u64(out, "checkpoint_anchors_checked", 0) >= 3);
    CHECK(strstr(out, "\"mac_key_problem\": \"\"") != NULL || strstr(out, "\"mac_key_problem\":\"\"") != NULL);
    if (fa_test_json_bool(out, "intact") != 1) fprintf(stderr, "%s\n", out);
  }
  fa_free(out);
  /* The secret never reached the disk. */
  {
    FILE* f = fopen(fa_test_join(dir, "segment-00000000000000000000.jsonl"), "rb");
    char line[8192];
    int found_label = 0, found_key = 0;
    CHECK(f != NULL);
    while (f && fgets(line, sizeof line, f)) {
      if (strstr(line, "AKIAIOSFODNN7EXAMPLE")) found_key = 1;
      if (strstr(line, "[AWS_ACCESS_KEY_REDACTED]")) found_label = 1;
    }
    if (f) fclose(f);
    CHECK(found_label == 1);
    CHECK(found_key == 0);
  }

  /* The guard switched off: the value is logged as given. */
  stats = run_logger(dir2, ",\"durability\":\"none\",\"secret_guard\":false", 5);
  if (stats) CHECK(fa_test_json_u64(stats, "secrets_redacted", 1) == 0);
  fa_free(stats);

  /* Bad members. */
  {
    fa_logger* l = NULL;
    char cfg[8192];
    snprintf(cfg, sizeof cfg, "{\"dir\":\"%s\",\"secret_guard\":{\"detectors\":[\"email\"]}}", dir2);
    CHECK_STATUS(fa_logger_open(cfg, strlen(cfg), &l), FA_INVALID_ARGUMENT);
    CHECK_ERROR_HAS("config.secret_guard.detectors");
    snprintf(cfg, sizeof cfg, "{\"dir\":\"%s\",\"secret_guard\":\"on\"}", dir2);
    CHECK_STATUS(fa_logger_open(cfg, strlen(cfg), &l), FA_INVALID_ARGUMENT);
    snprintf(cfg, sizeof cfg, "{\"dir\":\"%s\",\"monitor_rules_path\":\"%s/none.json\"}", dir2, root);
    CHECK(fa_logger_open(cfg, strlen(cfg), &l) == FA_NOT_FOUND);
    CHECK_ERROR_HAS("config.monitor_rules_path");
    snprintf(cfg, sizeof cfg, "{\"dir\":\"%s\",\"signing_key_path\":\"%s/signing.key\",\"signer_socket\":\"/x\"}",
             dir2, keys);
    CHECK_STATUS(fa_logger_open(cfg, strlen(cfg), &l), FA_INVALID_ARGUMENT);
    snprintf(cfg, sizeof cfg, "{\"dir\":\"%s\",\"checkpoint_anchor_path\":\"%s/a\"}", dir2, root);
    CHECK_STATUS(fa_logger_open(cfg, strlen(cfg), &l), FA_INVALID_ARGUMENT);
    snprintf(cfg, sizeof cfg, "{\"dir\":\"%s\",\"signer_socket\":\"%s/no.sock\",\"signer_timeout_ms\":100}", dir2,
             root);
    CHECK(fa_logger_open(cfg, strlen(cfg), &l) != FA_OK);
    CHECK_ERROR_HAS("config.signer_socket");
    CHECK(l == NULL);
  }

  fa_test_rm_tree(root);
  free(root);
  return fa_test_finish("test_c_keys");
}
