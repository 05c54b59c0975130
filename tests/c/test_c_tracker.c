/* SPDX-License-Identifier: Apache-2.0 */
/* GenerationTracker through the C ABI: a request's whole lifecycle, error paths, and the logger handle
 * destroyed first (the tracker then gets FA_CLOSED). */
#include "c_test_support.h"

#define STR(s) (s), strlen(s)

static fa_status call_submitted(fa_tracker* t, const char* id, const char* json) {
  return fa_tracker_submitted(t, id, id ? strlen(id) : 0, json, json ? strlen(json) : 0);
}

static char* state_of(fa_tracker* t, const char* id) {
  char* out = NULL;
  size_t len = 0;
  if (fa_tracker_state(t, id, strlen(id), &out, &len) != FA_OK) return NULL;
  return out;
}

static void check_state(fa_tracker* t, const char* id, const char* expected) {
  char want[128];
  char* s = state_of(t, id);
  snprintf(want, sizeof want, "\"state\":\"%s\"", expected);
  CHECK(s != NULL && strstr(s, want) != NULL);
  if (s != NULL && strstr(s, want) == NULL) fprintf(stderr, "state of %s: %s, expected %s\n", id, s, expected);
  fa_free(s);
}

int main(void) {
  char* root = fa_test_temp_dir("tracker");
  char* dir = strdup(fa_test_join(root, "log"));
  char* image = strdup(fa_test_join(root, "out.png"));
  char completion[2048];
  const char* submission =
      "{\"user_id\":\"alice@enterprise.com\",\"tenant_id\":\"acme\",\"session_id\":\"s1\","
      "\"ip_address\":\"10.0.0.5\",\"user_agent\":\"Mozilla/5.0\",\"model_version\":\"sd_xl_base_1.0\","
      "\"refiner_model\":\"\",\"request\":{\"prompt_sanitized\":\"a red fox\",\"prompt_hash\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
      "\"negative_prompt\":\"\",\"performance\":\"Speed\",\"aspect_ratio\":\"1024x1024\",\"num_images\":1,"
      "\"seed\":\"18446744073709551615\",\"loras\":[{\"name\":\"sd_xl_offset.safetensors\",\"weight\":0.1}],"
      "\"styles\":[\"Fooocus V2\"],\"guidance_scale\":4.0,\"sharpness\":2,\"enable_safety_checker\":true}}";
  fa_logger* l = NULL;
  fa_tracker* t = NULL;
  char* out = NULL;
  size_t len = 0;

  l = fa_test_open_logger(dir, ",\"durability\":\"none\"");
  CHECK(l != NULL);
  if (l == NULL) return fa_test_finish("test_c_tracker");

  /* Creation errors. */
  CHECK_STATUS(fa_tracker_create(NULL, NULL, 0, &t), FA_INVALID_HANDLE);
  CHECK(t == NULL);
  CHECK_STATUS(fa_tracker_create(l, NULL, 0, NULL), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_tracker_create(l, STR("{\"abandon_after\":5}"), &t), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("unknown member \"abandon_after\"");
  CHECK_STATUS(fa_tracker_create(l, STR("{\"max_tracked\":0}"), &t), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_tracker_create(l, "[]", 2, &t), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_tracker_create(l, STR("{\"emit_summary\":1}"), &t), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("options.emit_summary");
  CHECK(t == NULL);
  {
    const char* opts = "{\"abandon_after_ms\":600000,\"finished_retention_ms\":60000,\"max_tracked\":100,"
                       "\"max_forgotten\":100,\"sweep_interval_ms\":0,\"emit_summary\":true}";
    CHECK_OK(fa_tracker_create(l, opts, strlen(opts), &t));
  }
  if (t == NULL) return fa_test_finish("test_c_tracker");

  /* A whole lifecycle. */
  CHECK_OK(call_submitted(t, "req_1", submission));
  check_state(t, "req_1", "submitted");
  CHECK_OK(fa_tracker_queued(t, "req_1", 5, 3));
  check_state(t, "req_1", "queued");
  CHECK_OK(fa_tracker_started(t, "req_1", 5, "gpu-node-5", 10));
  check_state(t, "req_1", "started");
  CHECK(fa_test_write_file(image, "not really a png", 16) == 0);
  snprintf(completion, sizeof completion,
           "{\"outputs\":[{\"path\":\"%s\",\"url\":\"https://cdn.example/out.png\",\"has_nsfw_concepts\":false}],"
           "\"safety_checker_version\":\"1.0\",\"retry_count\":0}",
           image);
  CHECK_OK(fa_tracker_completed(t, "req_1", 5, completion, strlen(completion)));
  check_state(t, "req_1", "completed");
  {
    const char* attempt = "{\"attempt\":1,\"status\":200,\"delivered\":true,\"retry\":false,"
                          "\"url_host\":\"hooks.example\",\"error\":\"\"}";
    CHECK_OK(fa_tracker_webhook(t, "req_1", 5, attempt, strlen(attempt)));
  }
  /* Other endings. */
  CHECK_OK(call_submitted(t, "req_2", NULL)); /* NULL/0: an empty submission */
  CHECK_OK(fa_tracker_failed(t, "req_2", 5, "CUDA out of memory", 18, 1));
  check_state(t, "req_2", "failed");
  CHECK_OK(call_submitted(t, "req_3", "{}"));
  CHECK_OK(fa_tracker_cancelled(t, "req_3", 5, "alice", 5, "stopped by user", 15));
  check_state(t, "req_3", "cancelled");
  /* An illegal transition is an anomaly in the log, not an error. */
  CHECK_OK(fa_tracker_started(t, "req_3", 5, "gpu", 3));
  CHECK_OK(fa_tracker_sweep(t));
  CHECK_OK(fa_tracker_stats(t, &out, &len));
  CHECK(out != NULL);
  if (out) {
    CHECK(fa_test_json_u64(out, "anomalies", 0) >= 1);
    CHECK(fa_test_json_u64(out, "sink_errors", 1) == 0);
    CHECK(fa_test_json_u64(out, "events", 0) >= 10);
  }
  fa_free(out);

  /* Error paths: nothing is tracked or written for a refused call. */
  CHECK_STATUS(fa_tracker_state(t, "nobody", 6, &out, &len), FA_NOT_FOUND);
  CHECK(out == NULL && len == 0);
  CHECK_STATUS(fa_tracker_state(t, "req_1", 5, NULL, &len), FA_INVALID_ARGUMENT);
  CHECK_STATUS(call_submitted(t, "", "{}"), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_tracker_submitted(t, NULL, 4, "{}", 2), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("request_id: NULL pointer");
  CHECK_STATUS(fa_tracker_submitted(t, "bad\xff", 4, "{}", 2), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("request_id: invalid UTF-8 at byte 3");
  CHECK_STATUS(call_submitted(t, "req_4", "{\"user\":\"x\"}"), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("submission: unknown member \"user\"");
  CHECK_STATUS(call_submitted(t, "req_4", "{\"request\":{\"seed\":-1}}"), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("submission.request.seed");
  CHECK_STATUS(call_submitted(t, "req_4", "{\"request\":{\"seed\":\"18446744073709551616\"}}"), FA_INVALID_ARGUMENT);
  CHECK_STATUS(call_submitted(t, "req_4", "{\"request\":{\"loras\":[[\"a\",1]]}}"), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("submission.request.loras[0]");
  CHECK_STATUS(call_submitted(t, "req_4", "{\"request\":{\"styles\":\"x\"}}"), FA_INVALID_ARGUMENT);
  CHECK_STATUS(call_submitted(t, "req_4", "{\"request\":[]}"), FA_INVALID_ARGUMENT);
  CHECK_STATUS(call_submitted(t, "req_4", "{\"user_id\":\"a\",\"user_id\":\"b\"}"), FA_INVALID_ARGUMENT);
  CHECK(state_of(t, "req_4") == NULL); /* never tracked */
  CHECK_STATUS(fa_tracker_completed(t, "req_1", 5, STR("{\"outputs\":[\"/x.png\"]}")), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("completion.outputs[0]");
  CHECK_STATUS(fa_tracker_completed(t, "req_1", 5, STR("{\"outputs\":[{\"url\":\"u\"}]}")), FA_INVALID_ARGUMENT);
  CHECK_ERROR_HAS("completion.outputs[0].path: is required");
  CHECK_STATUS(fa_tracker_webhook(t, "req_1", 5, NULL, 0), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_tracker_webhook(t, "req_1", 5, STR("{\"status\":\"200\"}")), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_tracker_failed(t, "req_2", 5, "x", 1, -1), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_tracker_failed(t, "req_2", 5, NULL, 3, 0), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_tracker_cancelled(t, "req_2", 5, "a", 1, "\xc3", 1), FA_INVALID_ARGUMENT);
  CHECK_STATUS(fa_tracker_queued(NULL, "r", 1, 1), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_tracker_queued((fa_tracker*)l, "r", 1, 1), FA_INVALID_HANDLE);
  CHECK_ERROR_HAS("wrong kind of handle");
  CHECK_STATUS(fa_tracker_sweep(NULL), FA_INVALID_HANDLE);
  CHECK_STATUS(fa_tracker_stats(NULL, &out, &len), FA_INVALID_HANDLE);

  /* The logger handle destroyed first: the tracker stays a valid handle and reports FA_CLOSED when it writes. */
  fa_logger_destroy(l);
  CHECK_STATUS(call_submitted(t, "req_5", "{}"), FA_CLOSED);
  CHECK_STATUS(fa_tracker_queued(t, "req_5", 5, 1), FA_CLOSED);
  CHECK_OK(fa_tracker_stats(t, &out, &len)); /* reads still work */
  if (out) CHECK(fa_test_json_u64(out, "sink_errors", 0) >= 1);
  fa_free(out);
  {
    fa_tracker* t_bad = (fa_tracker*)0x1;
    CHECK_STATUS(fa_tracker_create(l, NULL, 0, &t_bad), FA_INVALID_HANDLE); /* l is destroyed */
    CHECK(t_bad == NULL);
  }
  {
    /* A fresh tracker over a fresh logger, destroyed in the other order. */
    fa_tracker* t2 = NULL;
    l = fa_test_open_logger(dir, "");
    CHECK(l != NULL);
    CHECK_OK(fa_tracker_create(l, STR("{\"sweep_interval_ms\":1}"), &t2));
    CHECK_OK(call_submitted(t2, "req_6", "{}"));
    fa_tracker_destroy(t2);
    CHECK_STATUS(fa_tracker_sweep(t2), FA_INVALID_HANDLE);
    CHECK_ERROR_HAS("destroyed");
    fa_tracker_destroy(t2); /* double destroy: detected, ignored */
    CHECK_OK(fa_logger_close(l));
    fa_logger_destroy(l);
  }

  /* Everything the tracker wrote verifies. */
  out = fa_test_verify(dir, NULL);
  CHECK(out != NULL);
  if (out) {
    CHECK(fa_test_json_bool(out, "intact") == 1);
    CHECK(fa_test_json_u64(out, "records", 0) >= 12);
  }
  fa_free(out);
  /* The first tracker outlived its logger handle; destroying it releases the logger for good. */
  fa_tracker_destroy(t);
  fa_test_rm_tree(root);
  free(image);
  free(dir);
  free(root);
  return fa_test_finish("test_c_tracker");
}
