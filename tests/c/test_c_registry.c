/* SPDX-License-Identifier: Apache-2.0 */
/* ModelVersionRegistry through the C ABI: register, the lifecycle, LoRA provenance, file checks, generation
 * checks, list, rebuild from the log, error paths, and the logger handle destroyed first. */
#include "c_test_support.h"

#define STR(s) (s), strlen(s)

static char* call_out(fa_status (*fn)(fa_registry*, const char*, size_t, char**, size_t*), fa_registry* r,
                      const char* json, fa_status expected) {
  char* out = NULL;
  size_t len = 0;
  fa_status st = fn(r, json, strlen(json), &out, &len);
  CHECK(st == expected);
  if (st != expected) fprintf(stderr, "  %s -> %s: %s\n", json, fa_strerror(st), fa_last_error());
  if (st != FA_OK) CHECK(out == NULL && len == 0);
  else CHECK(out != NULL && strlen(out) == len);
  return out;
}

int main(void) {
  char* root = fa_test_temp_dir("registry");
  char* dir = strdup(fa_test_join(root, "log"));
  char* base = strdup(fa_test_join(root, "base.safetensors"));
  char* lora = strdup(fa_test_join(root, "lora.safetensors"));
  char json[4096];
  fa_logger* l;
  fa_registry* r = NULL;
  char* out = NULL;
  size_t len = 0;

  CHECK(fa_test_write_file(base, "base model weights", 18) == 0);
  CHECK(fa_test_write_file(lora, "lora weights", 12) == 0);
  l = fa_test_open_logger(dir, ",\"durability\":\"none\"");
  if (l == NULL) return fa_test_finish("test_c_registry");

  CHECK_STATUS(fa_registry_open(NULL, NULL, 0, &r), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_registry_open(l, NULL, 0, NULL), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_registry_open(l, STR("{\"verify\":{\"threads\":\"two\"}}"), &r), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("options.verify.threads");
  CHECK_STATUS(fa_registry_open(l, STR("{\"verify\":{\"anchor_path\":\"/nonexistent/anchor\"}}"), &r), FA_NOT_FOUND);
  CHECK_ERROR_HAS("options.verify.anchor_path");
  CHECK(r == NULL);
  CHECK_OK(fa_registry_open(l, STR("{\"verify\":{\"threads\":1}}"), &r));
  if (r == NULL) return fa_test_finish("test_c_registry");

  /* Register, approve, check a generation. */
  snprintf(json, sizeof json,
           "{\"model_id\":\"sd_xl_base_1.0\",\"version\":\"1.0\",\"kind\":\"base\",\"path\":\"%s\","
           "\"source\":\"https://huggingface.co/stabilityai\",\"registered_by\":\"alice\"}",
           base);
  out = call_out(fa_registry_register, r, json, FA_OK);
  if (out) {
    CHECK(strstr(out, "\"state\":\"pending\"") != NULL);
    CHECK(strstr(out, "\"sha256\":\"sha256:") != NULL);
    CHECK(fa_test_json_u64(out, "size_bytes", 0) == 18);
  }
  fa_free(out);
  call_out(fa_registry_register, r, json, FA_INVALID_ARGUMENT); /* registered twice */
  CHECK_OK(fa_registry_approve(r, STR("{\"model_id\":\"sd_xl_base_1.0\",\"version\":\"1.0\",\"actor\":\"bob\","
                                      "\"reason\":\"reviewed\"}")));
  CHECK_STATUS(fa_registry_approve(r, STR("{\"model_id\":\"sd_xl_base_1.0\",\"version\":\"1.0\",\"actor\":\"bob\"}")),
               FA_INVALID_ARGUMENT); /* already approved */
  CHECK_STATUS(fa_registry_approve(r, STR("{\"model_id\":\"nope\",\"version\":\"1.0\",\"actor\":\"bob\"}")),
               FA_NOT_FOUND);
  CHECK_STATUS(fa_registry_approve(r, STR("{\"model_id\":\"sd_xl_base_1.0\",\"version\":\"1.0\"}")),
               FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("transition.actor: is required");

  snprintf(json, sizeof json,
           "{\"request_id\":\"req_1\",\"user_id\":\"alice\",\"base\":{\"model_id\":\"sd_xl_base_1.0\",\"path\":\"%s\"},"
           "\"refiner\":null,\"loras\":[],\"policy\":\"block\"}",
           base);
  out = call_out(fa_registry_check_generation, r, json, FA_OK);
  if (out) {
    CHECK(fa_test_json_bool(out, "allowed") == 1);
    CHECK(strstr(out, "\"violations\":[]") != NULL);
  }
  fa_free(out);
  out = call_out(fa_registry_check_generation, r,
                 "{\"request_id\":\"req_2\",\"base\":{\"model_id\":\"sd_xl_base_1.0\"},"
                 "\"loras\":[{\"model_id\":\"unknown_lora\",\"weight\":0.5}]}",
                 FA_OK);
  if (out) {
    CHECK(fa_test_json_bool(out, "allowed") == 0);
    CHECK(strstr(out, "\"problem\":\"unregistered\"") != NULL);
  }
  fa_free(out);
  out = call_out(fa_registry_check_generation, r,
                 "{\"request_id\":\"req_3\",\"loras\":[{\"model_id\":\"unknown_lora\"}],\"policy\":\"flag\"}", FA_OK);
  if (out) CHECK(fa_test_json_bool(out, "allowed") == 1);
  fa_free(out);
  call_out(fa_registry_check_generation, r, "{\"request_id\":\"req_4\",\"policy\":\"allow\"}", FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("generation.policy: must be one of block, flag");
  call_out(fa_registry_check_generation, r, "{\"base\":{\"model_id\":\"m\"}}", FA_INVALID_ARGUMENT);
  call_out(fa_registry_check_generation, r, "{\"request_id\":\"r\",\"loras\":[\"m\"]}", FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("generation.loras[0]");
  call_out(fa_registry_check_generation, r, "{\"request_id\":\"r\",\"base\":{\"model_id\":\"sd_xl_base_1.0\","
           "\"path\":\"/nonexistent/model\"}}", FA_NOT_FOUND);

  /* LoRA provenance: training record, then approval. */
  snprintf(json, sizeof json,
           "{\"model_id\":\"my_lora\",\"version\":\"2\",\"kind\":\"lora\",\"path\":\"%s\",\"registered_by\":\"carol\"}",
           lora);
  fa_free(call_out(fa_registry_register, r, json, FA_OK));
  CHECK_STATUS(fa_registry_approve(r, STR("{\"model_id\":\"my_lora\",\"version\":\"2\",\"actor\":\"bob\"}")),
               FA_INVALID_ARGUMENT); /* no training record yet */
  CHECK_STATUS(fa_registry_record_lora_training(r, STR("{\"lora_id\":\"my_lora\",\"version\":\"2\","
                                                       "\"dataset_id\":\"ds-7\",\"trained_by\":\"carol\","
                                                       "\"parameters\":[1]}")),
               FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("training.parameters");
  CHECK_OK(fa_registry_record_lora_training(r, STR("{\"lora_id\":\"my_lora\",\"version\":\"2\","
                                                   "\"dataset_id\":\"ds-7\",\"trained_by\":\"carol\","
                                                   "\"parameters\":{\"steps\":1000,\"lr\":0.0001}}")));
  CHECK_OK(fa_registry_approve(r, STR("{\"model_id\":\"my_lora\",\"version\":\"2\",\"actor\":\"bob\"}")));
  CHECK_OK(fa_registry_deprecate(r, STR("{\"model_id\":\"my_lora\",\"version\":\"2\",\"actor\":\"bob\","
                                        "\"reason\":\"superseded\"}")));
  CHECK_OK(fa_registry_revoke(r, STR("{\"model_id\":\"my_lora\",\"version\":\"2\",\"actor\":\"bob\"}")));
  CHECK_STATUS(fa_registry_revoke(r, STR("{\"model_id\":\"my_lora\",\"version\":\"2\",\"actor\":\"bob\"}")),
               FA_INVALID_ARGUMENT);

  /* verify_file: unchanged, then modified. */
  out = call_out(fa_registry_verify_file, r, "{\"model_id\":\"sd_xl_base_1.0\",\"version\":\"1.0\"}", FA_OK);
  if (out) CHECK(strstr(out, "\"outcome\":\"unchanged\"") != NULL);
  fa_free(out);
  CHECK(fa_test_write_file(base, "base model weightz", 18) == 0);
  out = call_out(fa_registry_verify_file, r, "{\"model_id\":\"sd_xl_base_1.0\",\"version\":\"1.0\"}", FA_OK);
  if (out) CHECK(strstr(out, "\"outcome\":\"modified\"") != NULL);
  fa_free(out);
  call_out(fa_registry_verify_file, r, "{\"model_id\":\"sd_xl_base_1.0\",\"version\":\"9\"}", FA_NOT_FOUND);
  call_out(fa_registry_verify_file, r, "{\"model_id\":\"sd_xl_base_1.0\"}", FA_INVALID_ARGUMENT);

  /* Registration errors. */
  call_out(fa_registry_register, r, "{\"model_id\":\"m\",\"version\":\"1\",\"kind\":\"checkpoint\","
           "\"sha256\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
           "\"registered_by\":\"a\"}", FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("registration.kind: must be one of base, refiner, lora, vae, other");
  call_out(fa_registry_register, r, "{\"model_id\":\"m\",\"version\":\"1\",\"registered_by\":\"a\"}",
           FA_INVALID_ARGUMENT); /* neither path nor sha256 */
  call_out(fa_registry_register, r, "{\"version\":\"1\",\"sha256\":\"x\",\"registered_by\":\"a\"}",
           FA_INVALID_ARGUMENT);
  call_out(fa_registry_register, r, "[]", FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_registry_register(r, NULL, 0, &out, &len), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_registry_register(r, STR("{}"), NULL, &len), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_registry_list(NULL, &out, &len), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_registry_approve((fa_registry*)l, STR("{}")), FA_INVALID_HANDLE);

  out = NULL;
  CHECK_OK(fa_registry_list(r, &out, &len));
  if (out) {
    CHECK(strstr(out, "\"model_id\":\"sd_xl_base_1.0\"") != NULL);
    CHECK(strstr(out, "\"state\":\"revoked\"") != NULL);
    CHECK(strstr(out, "\"dataset_id\":\"ds-7\"") != NULL);
  }
  fa_free(out);

  /* A second registry over the same logger rebuilds the same state from the log. */
  {
    fa_registry* r2 = NULL;
    char* a = NULL;
    char* b = NULL;
    CHECK_OK(fa_registry_open(l, NULL, 0, &r2));
    CHECK_OK(fa_registry_list(r, &a, &len));
    CHECK_OK(fa_registry_list(r2, &b, &len));
    if (a && b) {
      char* ma = strstr(a, "\"records_replayed\""); /* compare the models part */
      char* mb = strstr(b, "\"records_replayed\"");
      CHECK(ma != NULL && mb != NULL && (ma - a) == (mb - b) && strncmp(a, b, (size_t)(ma - a)) == 0);
      if (!(ma != NULL && mb != NULL && (ma - a) == (mb - b))) fprintf(stderr, "  first: %s\n  second: %s\n", a, b);
    }
    fa_free(a);
    fa_free(b);
    fa_registry_destroy(r2);
  }

  /* Logger handle destroyed first: the registry reads, but cannot write. */
  fa_logger_destroy(l);
  CHECK_OK(fa_registry_list(r, &out, &len));
  fa_free(out);
  CHECK_STATUS(fa_registry_deprecate(r, STR("{\"model_id\":\"sd_xl_base_1.0\",\"version\":\"1.0\",\"actor\":\"x\"}")),
               FA_CLOSED);
  fa_registry_destroy(r);
  CHECK_STATUS(fa_registry_list(r, &out, &len), FA_INVALID_HANDLE);
  fa_registry_destroy(r);

  out = fa_test_verify(dir, NULL);
  CHECK(out != NULL);
  if (out) CHECK(fa_test_json_bool(out, "intact") == 1);
  fa_free(out);
  fa_test_rm_tree(root);
  free(base);
  free(lora);
  free(dir);
  free(root);
  return fa_test_finish("test_c_registry");
}
