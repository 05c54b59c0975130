/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FOOOCUS_AUDIT_H
#define FOOOCUS_AUDIT_H
/*
 * fooocus_audit.h: the C ABI of fooocus_audit (library target fooocus_audit::c, file libfooocus_audit_c.so).
 *
 * Conventions, for every function below:
 *  - One prefix, fa_. Objects are opaque handles with a create/open function and a destroy function.
 *  - Every function that can fail returns an fa_status (0 = FA_OK). The numeric values of the codes never
 *    change and codes are never reused. On failure, fa_last_error() returns a message for this thread.
 *  - Text goes in as (pointer, length) pairs of UTF-8 bytes, so embedded NUL bytes are handled; a NULL
 *    pointer with length 0 is the empty string. Configuration, events and results are JSON objects. A JSON
 *    input must be a single object; JSON inputs are limited to FA_MAX_JSON_BYTES bytes and
 *    FA_MAX_JSON_DEPTH levels of nesting (more gives FA_TOO_LARGE / FA_INVALID_ARGUMENT, never a crash).
 *  - Results come back through out-parameters. Buffers the library allocates (char** out, size_t* out_len)
 *    are NUL-terminated for convenience, their length excludes that NUL, and they are released with
 *    fa_free(). On failure, *out is set to NULL and *out_len to 0.
 *  - No C++ exception crosses this boundary; an unexpected one becomes FA_INTERNAL.
 *  - Thread safety: every function may be called from any thread, concurrently on the same handle, except
 *    the destroy functions, which must not race with any other call on that handle.
 *  - Handles: passing NULL, a handle of another kind, or a handle already destroyed gives FA_INVALID_HANDLE
 *    (the library keeps destroyed handles as tombstones, so a handle used after destroy is detected, never
 *    dereferenced as freed memory). A pointer that never came from this library cannot be detected and is
 *    undefined behaviour.
 *  - Nothing already accepted is lost because of a failing call: a refused event leaves the logger usable
 *    and every event accepted before it is still written.
 *
 * docs/c-api.md describes every configuration member and every result JSON.
 */

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define FA_EXPORT __declspec(dllexport)
#elif defined(__GNUC__)
#define FA_EXPORT __attribute__((visibility("default")))
#else
#define FA_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------------------
 * Status codes. Frozen forever: values 0..9 equal the C++ fooocus_audit::Code values.
 * --------------------------------------------------------------------------------------------------------- */
typedef int fa_status;
#define FA_OK 0
#define FA_INVALID_ARGUMENT 1 /* bad input: invalid JSON or UTF-8, wrong member, NULL out-parameter, ... */
#define FA_IO_ERROR 2         /* the operating system refused a read, write or fsync */
#define FA_LOCKED 3           /* another writer holds the log directory */
#define FA_CORRUPTION 4       /* on-disk data is damaged where it must be read */
#define FA_CLOSED 5           /* the logger (or the logger an object was made from) is closed */
#define FA_DROPPED 6          /* lossy overflow policy: the event was not accepted (a gap record follows) */
#define FA_TOO_LARGE 7        /* input larger than the configured or built-in limit */
#define FA_NOT_FOUND 8        /* file, directory, request or model version does not exist */
#define FA_INTERNAL 9         /* a bug: please report it */
#define FA_INVALID_HANDLE 10  /* NULL, wrong kind, or already destroyed handle */
#define FA_NO_MEMORY 11       /* an allocation failed */

#define FA_MAX_JSON_BYTES (64u * 1024u * 1024u) /* any JSON input, in bytes */
#define FA_MAX_JSON_DEPTH 64                    /* any JSON input, levels of nesting */

/* The static name of a code ("invalid_argument"); "unknown" for other values. Never NULL. */
FA_EXPORT const char* fa_strerror(fa_status code);
/* The message of the last failing call on this thread ("" if none). Valid until the next fa_ call on this
 * thread. Never contains secrets or the raw values of sensitive fields. */
FA_EXPORT const char* fa_last_error(void);
/* The library version ("0.1.0"). */
FA_EXPORT const char* fa_version(void);
/* Increases whenever a function is added; a binding checks it is at least what it was written for.
 * 2: fa_logger_log_marshal, fa_event_marshal_to_json. */
#define FA_ABI_VERSION 2
FA_EXPORT int fa_abi_version(void);
/* Releases a buffer returned by this library. NULL is allowed. */
FA_EXPORT void fa_free(void* p);

/* ---------------------------------------------------------------------------------------------------------
 * AuditLogger
 * --------------------------------------------------------------------------------------------------------- */
typedef struct fa_logger fa_logger;

/* Opens or creates a log. config: {"dir": "...", "durability": "none"|"group_commit"|"always", ...} (every
 * LoggerOptions member that makes sense outside C++: docs/c-api.md). Unknown members are refused. */
FA_EXPORT fa_status fa_logger_open(const char* config_json, size_t config_len, fa_logger** out);
/* Validates (docs/events.md), guards (secret detectors) and queues one event (a JSON object). */
FA_EXPORT fa_status fa_logger_log(fa_logger* logger, const char* event_json, size_t event_len);
/* The same for an event in Python's marshal format, version 4 (marshal.dumps(event, 4), CPython 3.4+): a dict
 * with str keys holding only dict, list, tuple (a JSON array), str, int, float (finite), True, False and None,
 * back references included. Anything else (bytes, sets, NaN, a non-str key, a cycle, truncated data, trailing
 * bytes, nesting deeper than FA_MAX_JSON_DEPTH) gives FA_INVALID_ARGUMENT; more than FA_MAX_JSON_BYTES of
 * data, 2^23 values, 2^20 values repeated by references or 16 MiB of strings (references counted at each use)
 * FA_TOO_LARGE. The record written is
 * the one fa_logger_log writes for the same event as JSON. JSON remains the portable form (docs/c-api.md §5.3). */
FA_EXPORT fa_status fa_logger_log_marshal(fa_logger* logger, const void* data, size_t len);
/* Decodes marshal data as fa_logger_log_marshal does and returns the event as JSON text (to check an encoder:
 * a binding's one-time probe). Same errors. */
FA_EXPORT fa_status fa_event_marshal_to_json(const void* data, size_t len, char** out_json, size_t* out_len);
/* Waits until every event accepted so far is covered by the durability policy. */
FA_EXPORT fa_status fa_logger_flush(fa_logger* logger);
/* Flushes and closes; further calls give FA_CLOSED. Idempotent. */
FA_EXPORT fa_status fa_logger_close(fa_logger* logger);
/* {"accepted": n, "written": n, "durable": n, "dropped": n, "records": n, ...} */
FA_EXPORT fa_status fa_logger_stats(fa_logger* logger, char** out_json, size_t* out_len);
/* The anchor of the last durable record, as the anchor file stores it. */
FA_EXPORT fa_status fa_logger_head(fa_logger* logger, char** out_json, size_t* out_len);
/* {"log_id": "...", "dir": "..."} */
FA_EXPORT fa_status fa_logger_info(fa_logger* logger, char** out_json, size_t* out_len);
/* Closes (if needed) and releases the handle. Objects made from this logger (trackers, registries) stay
 * valid handles and return FA_CLOSED when they would write. NULL is allowed. */
FA_EXPORT void fa_logger_destroy(fa_logger* logger);

/* ---------------------------------------------------------------------------------------------------------
 * GenerationTracker: the request lifecycle (docs/events.md §5)
 * --------------------------------------------------------------------------------------------------------- */
typedef struct fa_tracker fa_tracker;

/* options: {"abandon_after_ms": n, "finished_retention_ms": n, "max_tracked": n, "sweep_interval_ms": n,
 * "emit_summary": bool} (all optional). */
FA_EXPORT fa_status fa_tracker_create(fa_logger* logger, const char* options_json, size_t options_len,
                                      fa_tracker** out);
/* submission: {"user_id", "tenant_id", "session_id", "ip_address", "user_agent", "model_version",
 * "refiner_model", "request": {... as image_generation's request: prompt_sanitized, prompt_hash, ...}} */
FA_EXPORT fa_status fa_tracker_submitted(fa_tracker* t, const char* request_id, size_t request_id_len,
                                         const char* submission_json, size_t submission_len);
FA_EXPORT fa_status fa_tracker_queued(fa_tracker* t, const char* request_id, size_t request_id_len,
                                      int64_t queue_position);
FA_EXPORT fa_status fa_tracker_started(fa_tracker* t, const char* request_id, size_t request_id_len,
                                       const char* worker_id, size_t worker_id_len);
/* completion: {"outputs": [{"path", "url", "has_nsfw_concepts"}], "safety_checker_version", "retry_count"} */
FA_EXPORT fa_status fa_tracker_completed(fa_tracker* t, const char* request_id, size_t request_id_len,
                                         const char* completion_json, size_t completion_len);
FA_EXPORT fa_status fa_tracker_failed(fa_tracker* t, const char* request_id, size_t request_id_len,
                                      const char* error_details, size_t error_details_len, int64_t retry_count);
FA_EXPORT fa_status fa_tracker_cancelled(fa_tracker* t, const char* request_id, size_t request_id_len,
                                         const char* cancelled_by, size_t cancelled_by_len, const char* reason,
                                         size_t reason_len);
/* attempt: {"attempt", "status", "delivered", "retry", "url_host", "error"} */
FA_EXPORT fa_status fa_tracker_webhook(fa_tracker* t, const char* request_id, size_t request_id_len,
                                       const char* attempt_json, size_t attempt_len);
/* Abandons requests idle longer than abandon_after. */
FA_EXPORT fa_status fa_tracker_sweep(fa_tracker* t);
/* {"state": "submitted"|...} or FA_NOT_FOUND. */
FA_EXPORT fa_status fa_tracker_state(fa_tracker* t, const char* request_id, size_t request_id_len,
                                     char** out_json, size_t* out_len);
FA_EXPORT fa_status fa_tracker_stats(fa_tracker* t, char** out_json, size_t* out_len);
FA_EXPORT void fa_tracker_destroy(fa_tracker* t);

/* ---------------------------------------------------------------------------------------------------------
 * PromptSanitizer (docs/privacy.md)
 * --------------------------------------------------------------------------------------------------------- */
typedef struct fa_sanitizer fa_sanitizer;

/* config: the SanitizerConfig JSON of docs/privacy.md §2. */
FA_EXPORT fa_status fa_sanitizer_create(const char* config_json, size_t config_len, fa_sanitizer** out);
/* {"text": "...", "prompt_hash": "...", "findings": [...]} (docs/privacy.md): never the raw values. */
FA_EXPORT fa_status fa_sanitizer_sanitize(fa_sanitizer* s, const char* text, size_t text_len, char** out_json,
                                          size_t* out_len);
/* "hmac-sha256:<hex>" (keyed, default) or "sha256:<hex>", as configured. */
FA_EXPORT fa_status fa_sanitizer_prompt_hash(fa_sanitizer* s, const char* text, size_t text_len, char** out,
                                             size_t* out_len);
/* The plaintext of an encrypted span or field, for investigators holding the key. */
FA_EXPORT fa_status fa_sanitizer_reveal(fa_sanitizer* s, const char* token, size_t token_len, char** out,
                                        size_t* out_len);
FA_EXPORT void fa_sanitizer_destroy(fa_sanitizer* s);

/* ---------------------------------------------------------------------------------------------------------
 * ModelVersionRegistry (docs/events.md §7)
 * --------------------------------------------------------------------------------------------------------- */
typedef struct fa_registry fa_registry;

/* Rebuilds the registry from the log the logger writes (verifying it). options: {"verify": {...}}. */
FA_EXPORT fa_status fa_registry_open(fa_logger* logger, const char* options_json, size_t options_len,
                                     fa_registry** out);
/* registration: {"model_id", "version", "kind", "path" | "sha256", "source", ...} -> the ModelVersion. */
FA_EXPORT fa_status fa_registry_register(fa_registry* r, const char* registration_json, size_t len,
                                         char** out_json, size_t* out_len);
/* transition: {"model_id", "version", "actor", "reason"}. */
FA_EXPORT fa_status fa_registry_approve(fa_registry* r, const char* transition_json, size_t len);
FA_EXPORT fa_status fa_registry_deprecate(fa_registry* r, const char* transition_json, size_t len);
FA_EXPORT fa_status fa_registry_revoke(fa_registry* r, const char* transition_json, size_t len);
/* training: the LoraTraining members. */
FA_EXPORT fa_status fa_registry_record_lora_training(fa_registry* r, const char* training_json, size_t len);
/* file: {"model_id", "version", "path"} -> the FileCheck. */
FA_EXPORT fa_status fa_registry_verify_file(fa_registry* r, const char* file_json, size_t len, char** out_json,
                                            size_t* out_len);
/* generation: the GenerationModels members -> the GenerationDecision (writes model.violation / lora.used). */
FA_EXPORT fa_status fa_registry_check_generation(fa_registry* r, const char* generation_json, size_t len,
                                                 char** out_json, size_t* out_len);
/* {"models": [ModelVersion...]} */
FA_EXPORT fa_status fa_registry_list(fa_registry* r, char** out_json, size_t* out_len);
FA_EXPORT void fa_registry_destroy(fa_registry* r);

/* ---------------------------------------------------------------------------------------------------------
 * ChainVerifier (docs/log-format.md §8)
 * --------------------------------------------------------------------------------------------------------- */
typedef struct fa_verifier fa_verifier;

/* options: {"anchor_path", "checkpoint_anchor_paths": [...], "trusted_key_paths": [...], "mac_key_path",
 * "expected_log_id", "threads", "max_findings"} (all optional). */
FA_EXPORT fa_status fa_verifier_create(const char* options_json, size_t options_len, fa_verifier** out);
/* Verifies a log directory or segment file. FA_OK means the verification ran, not that the log is intact:
 * the summary says {"intact": bool, "records": n, ..., "findings": [{"reason", "seq", "segment", "offset",
 * "detail"}]}. */
FA_EXPORT fa_status fa_verifier_verify_path(fa_verifier* v, const char* path, size_t path_len, char** out_json,
                                            size_t* out_len);
FA_EXPORT void fa_verifier_destroy(fa_verifier* v);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FOOOCUS_AUDIT_H */
