// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file tracker.hpp
/// GenerationTracker: the state machine of the seed article's §2.3 that follows each generation request by
/// its request_id through its lifecycle and writes one audit event per step, with the durations computed
/// from one clock and the output files hashed and measured by the tracker itself.
///
///     submitted -> queued* -> started -> completed | failed | cancelled      (then webhook attempts)
///          \__________\__________\____> failed | cancelled | abandoned (sweep)
///
/// Usage (one tracker per process, shared by every Fooocus worker thread):
///
///     fa::GenerationTracker tracker(*logger);                // or a std::function sink for tests
///     fa::GenerationTracker::Submission s;                   // who asked and what (prompt already sanitized)
///     s.user_id = "alice@enterprise.com"; s.request = request_params; s.model_version = "sd_xl_base_1.0";
///     tracker.submitted("req_1", s);                         // generation.submitted
///     tracker.queued("req_1", 3);                            // generation.queued {queue_position}
///     tracker.started("req_1", "gpu-node-5");                // generation.started {worker_id, queue_wait_ms}
///     tracker.completed("req_1", {"/out/req_1_0.png"});      // generation.completed + image_generation summary
///     tracker.webhook("req_1", 1, 200, true);                // webhook.delivered; the request is then forgotten
///     // every few seconds (or set TrackerOptions::sweep_interval for a background thread):
///     tracker.sweep();                                       // generation.abandoned for idle requests
///
/// Events written (field names per docs/events.md): generation.submitted {request, model_version,
/// refiner_model}, generation.queued {queue_position}, generation.started {worker_id, queue_wait_ms},
/// generation.completed {generation_duration_ms, outputs[{path, url, sha256, width, height, file_size_bytes,
/// format}], safety}, generation.failed {error_details, retry_count, generation_duration_ms},
/// generation.cancelled {cancelled_by, reason}, generation.abandoned {last_state, timeout_ms, idle_ms, reason:
/// "timeout" | "capacity"}, webhook.delivered / webhook.failed {attempt, status, url_host, retry, error},
/// generation.anomaly {anomaly, state, received, event, detail}. Every event carries request_id, and
/// user_id / tenant_id / session_id when the submission gave them. On an applied completion of a submitted
/// request the tracker also writes the seed §2.2 summary (event_type image_generation, a GenerationEvent)
/// with the submission, the worker, both durations, the outputs and the safety result.
///
/// Durations: queue_wait_ms = started - first queued (or - submitted when never queued);
/// generation_duration_ms = completed (or failed) - started. Both come from TrackerOptions::clock_ms, a
/// monotonic clock (made non-decreasing by the tracker), and are omitted when a step is missing.
///
/// Illegal transitions never throw or crash; each writes one generation.anomaly record:
/// - `<verb>_before_submitted` (verb = queued, started, completed, failed, cancelled): a lifecycle event for
///   a request_id the tracker has never seen. The anomaly is written, then the event is applied as usual (the
///   request is adopted in that state, so the rest of its lifecycle is still checked and timed). A late
///   submitted() for an adopted request writes generation.submitted without a second anomaly. No summary is
///   written for a request whose submission is unknown (its parameters would be made up).
/// - `completed_before_started` (completed while submitted or queued): written, then the completion applied.
/// - rejected, state unchanged, the received event kept whole in the anomaly's `event` member (so a rejected
///   completion still records its output hashes): `submitted_twice`, `started_twice`, `queued_after_started`,
///   `<verb>_twice` for a second terminal event of the same kind (e.g. `completed_twice`),
///   `event_after_terminal` (any other lifecycle event after completed, failed, cancelled or abandoned),
///   `unknown_request` (a webhook for a request never seen), `webhook_before_terminal`,
///   `webhook_attempt_invalid` (attempt < 1), `webhook_attempt_repeated` (attempt not above the last),
///   `webhook_after_final_attempt` (after delivery or a failure without retry), `webhook_after_retention`.
/// - about outputs, next to a completion that is applied: `output_unreadable` (the file could not be read:
///   the output is listed without a hash) and `output_not_image` (hashed, format "other"); `detail` says why.
/// `state` is the tracker's state for the request ("unknown" when never seen) and `received` the event_type
/// the call would have written.
///
/// Memory is bounded: a request is tracked (with its submission) until it ends, then kept only with its
/// identity while webhook attempts may arrive: until a delivery, a failed attempt without retry, or
/// TrackerOptions::finished_retention without a webhook event. Then it is forgotten, but its request_id and
/// final state stay in a FIFO of max_forgotten ids so late events are still recognized (after that, an id is
/// unknown again). At most max_tracked requests are tracked: to admit a new one, the tracker first forgets
/// the finished request idle the longest, and if every tracked request is still active, abandons the one
/// idle the longest (generation.abandoned with reason "capacity").
///
/// Thread safety: every member function may be called from any thread. Events are written while an internal
/// mutex is held, so the log holds each request's events in the order of its state machine; output files are
/// hashed before the mutex is taken (a completion costs one streaming read of its files on the caller's
/// thread). The sink and on_error must not call back into the tracker. A sink error does not stop tracking:
/// it is returned by the call that caused it, counted, and handed to on_error.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/generation_event.hpp"
#include "fooocus_audit/image_info.hpp"

namespace fooocus_audit {

class AuditLogger;

/// Where a request is in its lifecycle. completed, failed, cancelled and abandoned are terminal.
enum class GenerationState { submitted, queued, started, completed, failed, cancelled, abandoned };

/// "submitted", "queued", ... (the `state` and `last_state` values of the events).
std::string_view generation_state_name(GenerationState s) noexcept;

struct TrackerOptions {
  /// A request without a lifecycle event for this long is abandoned by sweep(). 0: never.
  std::chrono::milliseconds abandon_after{std::chrono::minutes(30)};
  /// How long an ended request waits for (further) webhook attempts before it is forgotten. 0: forgotten at
  /// once (webhook events then become webhook_after_retention anomalies).
  std::chrono::milliseconds finished_retention{std::chrono::minutes(10)};
  std::size_t max_tracked = 10000;     ///< requests tracked at once (at least 1), each with its submission
  std::size_t max_forgotten = 100000;  ///< forgotten request_ids remembered to recognize late events
  /// > 0: a background thread calls sweep() this often until the tracker is destroyed; its errors go to
  /// on_error.
  std::chrono::milliseconds sweep_interval{0};
  /// Monotonic clock in milliseconds for the durations and timeouts; tests inject one. Default: steady_clock.
  std::function<std::int64_t()> clock_ms;
  /// Wall clock in microseconds since the Unix epoch (UTC) for the summary's `timestamp`. Default: system_clock.
  std::function<std::int64_t()> wall_clock_micros;
  /// Write the image_generation summary on completion.
  bool emit_summary = true;
  /// Called (with the mutex held) when the sink refuses an event. Must not call back into the tracker.
  std::function<void(const Status&)> on_error;
};

struct TrackerStats {
  std::size_t active = 0;          ///< tracked requests not yet ended
  std::size_t finished = 0;        ///< ended requests still waiting for webhook attempts
  std::size_t forgotten = 0;       ///< request_ids remembered after they were forgotten
  std::uint64_t events = 0;        ///< events the sink accepted (anomalies and summaries included)
  std::uint64_t anomalies = 0;     ///< generation.anomaly events produced
  std::uint64_t abandoned = 0;     ///< generation.abandoned events produced (timeouts and capacity)
  std::uint64_t evicted = 0;       ///< requests dropped early because max_tracked was reached
  std::uint64_t sink_errors = 0;   ///< events the sink refused
};

class GenerationTracker {
 public:
  /// Receives each event as JSON; returns why it could not be recorded.
  using EventSink = std::function<Status(const nlohmann::json&)>;

  /// Who asked and what: the fields of generation.submitted and of the summary.
  struct Submission {
    std::string user_id, tenant_id, session_id, ip_address, user_agent;
    GenerationEvent::Request request;  ///< as the summary writes it (prompt already sanitized and hashed)
    std::string model_version;
    std::string refiner_model;
  };
  /// One output of a completion.
  struct Output {
    std::string path;  ///< the file the tracker hashes and inspects
    std::string url;   ///< where it is stored (written as `url`; the summary uses the path when empty)
    std::optional<bool> has_nsfw_concepts;  ///< the safety checker's verdict for this image, when it ran
  };
  struct Completion {
    std::vector<Output> outputs;
    std::string safety_checker_version;
    std::int64_t retry_count = 0;
  };
  struct WebhookAttempt {
    std::int64_t attempt = 1;  ///< 1 for the first delivery attempt, then 2, 3, ...
    int status = 0;            ///< HTTP status; outside 100..599 (0: no response) it is not written
    bool delivered = false;
    bool retry = false;        ///< when not delivered: another attempt will follow
    std::string url_host;      ///< host of the webhook URL (not the full URL: it may hold a token)
    std::string error;         ///< when not delivered
  };

  /// Writes to `logger` (the summary through its GenerationEvent fast path), which must outlive the tracker.
  explicit GenerationTracker(AuditLogger& logger, TrackerOptions options = {});
  /// Writes to `sink` (summaries as GenerationEvent::to_json()).
  explicit GenerationTracker(EventSink sink, TrackerOptions options = {});
  /// Stops the background sweeper. Requests still tracked are not written as abandoned (call sweep first if
  /// that is wanted).
  ~GenerationTracker();
  GenerationTracker(const GenerationTracker&) = delete;
  GenerationTracker& operator=(const GenerationTracker&) = delete;

  // Lifecycle. Each returns ok when every event it produced was accepted by the sink (an illegal
  // transition is not an error: its anomaly was recorded), else the first sink error; invalid_argument, with
  // nothing tracked or written, for an empty request_id. Empty optional strings are not written.
  Status submitted(const std::string& request_id, const Submission& submission);
  Status queued(const std::string& request_id, std::int64_t queue_position);
  Status started(const std::string& request_id, const std::string& worker_id);
  /// Hashes and inspects every file (describe_output) before taking the tracker's lock.
  Status completed(const std::string& request_id, const std::vector<std::string>& output_paths);
  Status completed(const std::string& request_id, const Completion& completion);
  /// An empty error_details is written as "unspecified" (the schema requires the member).
  Status failed(const std::string& request_id, const std::string& error_details, std::int64_t retry_count = 0);
  Status cancelled(const std::string& request_id, const std::string& cancelled_by, const std::string& reason);
  /// webhook.delivered or webhook.failed (then retry = false: the last attempt).
  Status webhook(const std::string& request_id, std::int64_t attempt, int http_status, bool delivered);
  Status webhook(const std::string& request_id, const WebhookAttempt& attempt);

  /// Abandons requests idle for abandon_after and forgets ended ones past finished_retention, as of
  /// clock_ms() (or `now_ms`, on the same clock).
  Status sweep();
  Status sweep(std::int64_t now_ms);

  TrackerStats stats() const;
  /// The state of a tracked request; nullopt when it is unknown or forgotten.
  std::optional<GenerationState> state(const std::string& request_id) const;

 private:
  enum class Verb { submitted, queued, started, completed, failed, cancelled };
  struct Entry {
    GenerationState state = GenerationState::submitted;
    bool submitted = false;  // generation.submitted was written (false: adopted after an anomaly)
    Submission sub;          // its request is released when the request ends
    std::string worker_id;
    std::optional<std::int64_t> submitted_at, queued_at, started_at, queue_wait_ms;
    std::int64_t last = 0;          // last event (clock_ms): orders active_ and finished_
    std::int64_t last_attempt = 0;  // last webhook attempt
    bool in_finished = false;
    std::list<std::string>::iterator pos;  // in active_ or finished_
  };
  struct Forgotten {
    GenerationState state;
    bool submitted;
    bool webhook_done;
  };
  struct Described {
    const Output* spec;
    Result<OutputFile> file;
  };

  void start_sweeper();
  std::int64_t tick(std::optional<std::int64_t> now = std::nullopt);
  Status sweep_at(std::optional<std::int64_t> now_ms);
  /// Checks `verb` against the request's state: writes the anomaly if any and returns the entry to apply the
  /// event to (created when adopted or new), or nullptr when the event is rejected.
  Entry* step(const std::string& id, Verb verb, std::int64_t now, nlohmann::json& ev, Status& st);
  Entry& create(const std::string& id, std::int64_t now, Status& st);
  void touch(Entry& e, std::int64_t now);
  void finish(const std::string& id, Entry& e, std::int64_t now);  // e is invalid afterwards
  void forget(const std::string& id, bool webhook_done);
  void abandon(const std::string& id, Entry& e, std::int64_t now, const char* reason, Status& st);
  void add_identity(const Entry* e, nlohmann::json& ev) const;
  void emit(const nlohmann::json& ev, Status& st);
  void emit_summary(const GenerationEvent& g, Status& st);
  void emit_anomaly(const std::string& id, const std::string& anomaly, std::string_view state,
                    const nlohmann::json& received, bool keep_event, const std::string& detail, Status& st);
  void record(const Status& s, Status& st);

  AuditLogger* logger_ = nullptr;
  EventSink sink_;
  TrackerOptions options_;

  mutable std::mutex mu_;
  std::int64_t last_now_ = 0;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> active_;    // ids of non-terminal requests, least recently active first
  std::list<std::string> finished_;  // ids of ended requests, least recently active first
  std::unordered_map<std::string, Forgotten> forgotten_;
  std::deque<std::string> forgotten_order_;
  TrackerStats stats_;

  std::mutex sweeper_mu_;
  std::condition_variable sweeper_cv_;
  bool stop_ = false;
  std::thread sweeper_;
};

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/tracker-inl.hpp"
#endif
