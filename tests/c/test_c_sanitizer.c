/* SPDX-License-Identifier: Apache-2.0 */
/* PromptSanitizer through the C ABI: label mode without a key, tokens and encryption with a tenant key file,
 * reveal, prompt hashes, prompts with NUL bytes, and the error paths. */
#include "c_test_support.h"

#define STR(s) (s), strlen(s)

/* Finds "[EMAIL:enc:...]" in text and copies it (with brackets) into buf. */
static int find_encrypted_span(const char* text, char* buf, size_t n) {
  const char* b = strstr(text, "[EMAIL:enc:");
  const char* e;
  if (b == NULL) return 0;
  e = strchr(b, ']');
  if (e == NULL || (size_t)(e - b + 2) > n) return 0;
  memcpy(buf, b, (size_t)(e - b + 1));
  buf[e - b + 1] = '\0';
  return 1;
}

int main(void) {
  char* root = fa_test_temp_dir("sanitizer");
  char* keyfile = strdup(fa_test_join(root, "tenant.key"));
  char config[8192];
  fa_sanitizer* s = NULL;
  fa_sanitizer* keyed = NULL;
  char* out = NULL;
  size_t len = 0;
  const char* prompt = "portrait of jane.doe@example.com, call +1 415 555 0100";

  /* No key needed: labels and a plain hash. */
  CHECK_STATUS(fa_sanitizer_create(NULL, 0, &s), FA_INVALID_ARGUMENT); /* the default hash is keyed */
  CHECK_ERROR_HAS("key");
  CHECK(s == NULL);
  CHECK_OK(fa_sanitizer_create(STR("{\"prompt_hash\":\"plain\",\"default_mode\":\"label\"}"), &s));
  if (s == NULL) return fa_test_finish("test_c_sanitizer");
  CHECK_OK(fa_sanitizer_sanitize(s, prompt, strlen(prompt), &out, &len));
  if (out) {
    CHECK(strstr(out, "[EMAIL_REDACTED]") != NULL);
    CHECK(strstr(out, "jane.doe") == NULL);
    CHECK(strstr(out, "\"prompt_hash\":\"sha256:") != NULL);
    CHECK(strstr(out, "\"detector\":\"email\"") != NULL);
    CHECK(strlen(out) == len);
  }
  fa_free(out);
  /* The hash is of the raw bytes, NUL bytes included. */
  {
    char* h1 = NULL;
    char* h2 = NULL;
    size_t n1 = 0, n2 = 0;
    CHECK_OK(fa_sanitizer_prompt_hash(s, "a\0b", 3, &h1, &n1));
    CHECK_OK(fa_sanitizer_prompt_hash(s, "a", 1, &h2, &n2));
    CHECK(h1 != NULL && h2 != NULL && strncmp(h1, "sha256:", 7) == 0 && n1 == 7 + 64 && strcmp(h1, h2) != 0);
    fa_free(h1);
    fa_free(h2);
    CHECK_OK(fa_sanitizer_prompt_hash(s, NULL, 0, &h1, &n1)); /* the empty prompt */
    /* SHA-256 of "" */
    CHECK(h1 != NULL && strcmp(h1, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    fa_free(h1);
  }
  CHECK_OK(fa_sanitizer_sanitize(s, "a\0b", 3, &out, &len)); /* a prompt with a NUL byte */
  if (out) CHECK(strstr(out, "\"text\":\"a\\u0000b\"") != NULL);
  fa_free(out);

  /* Errors. */
  CHECK_STATUS(fa_sanitizer_sanitize(s, "bad \xff", 5, &out, &len), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("invalid UTF-8 at byte 4");
  CHECK(out == NULL && len == 0);
  CHECK_STATUS(fa_sanitizer_sanitize(s, NULL, 3, &out, &len), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_sanitizer_sanitize(s, "x", 1, NULL, &len), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_sanitizer_sanitize(NULL, "x", 1, &out, &len), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_sanitizer_reveal(s, STR("[EMAIL:enc:0000000000000000:AAAA]"), &out, &len), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_sanitizer_create(STR("{\"colour\":1}"), &keyed), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("colour");
  CHECK_STATUS(fa_sanitizer_create(STR("{\"prompt_hash\":\"plain\",\"custom_patterns\":[{\"name\":\"x\","
                                       "\"pattern\":\"(\"}]}"),
                                   &keyed),
               FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_sanitizer_create(STR("[]"), &keyed), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_sanitizer_create(STR("{\"prompt_hash\":\"plain\"} x"), &keyed), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_sanitizer_create(STR("{\"prompt_hash\":\"plain\"}"), NULL), FA_INVALID_ARGUMENT);
  snprintf(config, sizeof config, "{\"tenant_id\":\"acme\",\"tenant_key_file\":\"%s\"}", fa_test_join(root, "none"));
  CHECK_STATUS(fa_sanitizer_create(config, strlen(config), &keyed), FA_NOT_FOUND);
  CHECK(keyed == NULL);
  /* A key file readable by others is refused. */
  {
    const char* key_text =
        "fooocus-audit-tenant-key-v1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    CHECK(fa_test_write_file(keyfile, key_text, strlen(key_text)) == 0);
    CHECK(chmod(keyfile, 0644) == 0);
    snprintf(config, sizeof config,
             "{\"tenant_id\":\"acme\",\"tenant_key_file\":\"%s\",\"default_mode\":\"token\","
             "\"detectors\":{\"email\":{\"mode\":\"encrypt\"}}}",
             keyfile);
    CHECK_STATUS(fa_sanitizer_create(config, strlen(config), &keyed), FA_INVALID_ARGUMENT);
    CHECK_ERROR_HAS("chmod 600");
    CHECK(chmod(keyfile, 0600) == 0);
    /* A key path with a NUL byte (\u0000 in JSON) names another file than the OS would open: refused. */
    {
      char nul_config[3072];
      fa_sanitizer* cut = NULL;
      snprintf(nul_config, sizeof nul_config,
               "{\"tenant_id\":\"acme\",\"tenant_key_file\":\"%s\\u0000.other\"}", keyfile);
      CHECK_STATUS(fa_sanitizer_create(nul_config, strlen(nul_config), &cut), FA_INVALID_ARGUMENT);
      CHECK_ERROR_HAS("config.tenant_key_file: must not contain a NUL byte");
      CHECK(cut == NULL);
      fa_sanitizer_destroy(cut);
    }
  }

  /* Tokens, encryption and reveal with the tenant key. */
  CHECK_OK(fa_sanitizer_create(config, strlen(config), &keyed));
  if (keyed != NULL) {
    char span[512];
    CHECK_OK(fa_sanitizer_sanitize(keyed, prompt, strlen(prompt), &out, &len));
    if (out) {
      CHECK(strstr(out, "jane.doe") == NULL);
      CHECK(strstr(out, "\"prompt_hash\":\"hmac-sha256:") != NULL);
      CHECK(strstr(out, "[PHONE:") != NULL);
      CHECK(find_encrypted_span(out, span, sizeof span));
      fa_free(out);
      out = NULL;
      CHECK_OK(fa_sanitizer_reveal(keyed, span, strlen(span), &out, &len));
      CHECK(out != NULL && strcmp(out, "jane.doe@example.com") == 0 && len == 20);
      fa_free(out);
      /* The other sanitizer has no key: it cannot reveal. */
      CHECK(fa_sanitizer_reveal(s, span, strlen(span), &out, &len) == FA_INVALID_ARGUMENT);
      /* A changed ciphertext fails authentication. */
      span[strlen(span) - 3] = span[strlen(span) - 3] == 'A' ? 'B' : 'A';
      CHECK(fa_sanitizer_reveal(keyed, span, strlen(span), &out, &len) != FA_OK);
      CHECK(out == NULL);
    } else {
      fa_free(out);
    }
    CHECK_OK(fa_sanitizer_prompt_hash(keyed, prompt, strlen(prompt), &out, &len));
    if (out) CHECK(strncmp(out, "hmac-sha256:", 12) == 0 && len == 12 + 64);
    fa_free(out);
  }

  /* Handles. */
  {
    fa_verifier* v = NULL;
    CHECK_OK(fa_verifier_create(NULL, 0, &v));
    CHECK_STATUS(fa_sanitizer_sanitize((fa_sanitizer*)v, "x", 1, &out, &len), FA_INVALID_HANDLE);
    CHECK_ERROR_HAS("wrong kind of handle (fa_verifier given)");
    fa_sanitizer_destroy((fa_sanitizer*)v); /* refused */
    fa_verifier_destroy(v);
  }
  fa_sanitizer_destroy(keyed);
  CHECK_STATUS(fa_sanitizer_prompt_hash(keyed, "x", 1, &out, &len), FA_INVALID_HANDLE);
  CHECK_ERROR_HAS("destroyed");
  fa_sanitizer_destroy(keyed);
  fa_sanitizer_destroy(s);
  fa_sanitizer_destroy(NULL);

  fa_test_rm_tree(root);
  free(keyfile);
  free(root);
  return fa_test_finish("test_c_sanitizer");
}
