/* SPDX-License-Identifier: Apache-2.0 */
/* Consumer of the installed C ABI: writes a small log and verifies it. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fooocus_audit/fooocus_audit.h"

static int remove_entry(const char* path, const struct stat* sb, int flag, struct FTW* ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int main(void) {
  char dir[] = "/tmp/fa-c-consumer-XXXXXX";
  char cfg[256];
  const char* ev = "{\"event_type\":\"consumer.hello\",\"n\":1}";
  fa_logger* logger = NULL;
  fa_verifier* verifier = NULL;
  char* summary = NULL;
  size_t len = 0;
  int intact;
  if (mkdtemp(dir) == NULL) return 1;
  snprintf(cfg, sizeof cfg, "{\"dir\":\"%s/log\",\"durability\":\"none\"}", dir);
  if (fa_abi_version() < FA_ABI_VERSION || fa_logger_open(cfg, strlen(cfg), &logger) != FA_OK ||
      fa_logger_log(logger, ev, strlen(ev)) != FA_OK || fa_logger_close(logger) != FA_OK) {
    fprintf(stderr, "consumer: %s\n", fa_last_error());
    return 1;
  }
  fa_logger_destroy(logger);
  snprintf(cfg, sizeof cfg, "%s/log", dir);
  if (fa_verifier_create(NULL, 0, &verifier) != FA_OK ||
      fa_verifier_verify_path(verifier, cfg, strlen(cfg), &summary, &len) != FA_OK) {
    fprintf(stderr, "consumer: %s\n", fa_last_error());
    return 1;
  }
  intact = strstr(summary, "\"intact\": true") != NULL;
  printf("fooocus_audit %s C ABI %d: log %s\n", fa_version(), fa_abi_version(), intact ? "intact" : "NOT intact");
  fa_free(summary);
  fa_verifier_destroy(verifier);
  (void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return intact ? 0 : 1;
}
