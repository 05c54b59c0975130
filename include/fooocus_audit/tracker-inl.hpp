// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/tracker.hpp"
#endif

#include <algorithm>
#include <exception>
#include <limits>

#include <fmt/format.h>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit {

namespace tracker_impl {

inline bool terminal(GenerationState s) {
  return s == GenerationState::completed || s == GenerationState::failed || s == GenerationState::cancelled ||
         s == GenerationState::abandoned;
}

inline const char* verb_name(int v) {
  static constexpr const char* kNames[] = {"submitted", "queued", "started", "completed", "failed", "cancelled"};
  return kNames[v];
}

// Runs a public member's body; an exception (allocation failure, a throwing clock) becomes a Status.
template <typename F>
Status guarded(F&& body) noexcept {
  try {
    return body();
  } catch (const std::exception& e) {
    return {Code::internal, fmt::format("generation tracker: {}", e.what())};
  } catch (...) {
    return {Code::internal, "generation tracker: unknown exception"};
  }
}

inline nlohmann::json request_json(const GenerationEvent::Request& r) {
  GenerationEvent g;
  g.request = r;
  return std::move(g.to_json()["request"]);
}

}  // namespace tracker_impl

FA_INLINE std::string_view generation_state_name(GenerationState s) noexcept {
  switch (s) {
    case GenerationState::submitted: return "submitted";
    case GenerationState::queued: return "queued";
    case GenerationState::started: return "started";
    case GenerationState::completed: return "completed";
    case GenerationState::failed: return "failed";
    case GenerationState::cancelled: return "cancelled";
    case GenerationState::abandoned: return "abandoned";
  }
  return "unknown";
}

FA_INLINE GenerationTracker::GenerationTracker(AuditLogger& logger, TrackerOptions options)
    : logger_(&logger), options_(std::move(options)) {
  start_sweeper();
}

FA_INLINE GenerationTracker::GenerationTracker(EventSink sink, TrackerOptions options)
    : sink_(std::move(sink)), options_(std::move(options)) {
  start_sweeper();
}

FA_INLINE void GenerationTracker::start_sweeper() {
  if (!options_.clock_ms)
    options_.clock_ms = [] {
      return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now().time_since_epoch())
                                           .count());
    };
  if (!options_.wall_clock_micros)
    options_.wall_clock_micros = [] {
      return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
    };
  if (options_.max_tracked == 0) options_.max_tracked = 1;
  last_now_ = std::numeric_limits<std::int64_t>::min();
  if (options_.sweep_interval.count() <= 0) return;
  sweeper_ = std::thread([this] {
    std::unique_lock<std::mutex> lk(sweeper_mu_);
    while (!sweeper_cv_.wait_for(lk, options_.sweep_interval, [this] { return stop_; })) {
      lk.unlock();
      (void)sweep();  // sink errors already went to on_error
      lk.lock();
    }
  });
}

FA_INLINE GenerationTracker::~GenerationTracker() {
  if (!sweeper_.joinable()) return;
  {
    std::lock_guard<std::mutex> lk(sweeper_mu_);
    stop_ = true;
  }
  sweeper_cv_.notify_all();
  sweeper_.join();
}

// --- internals (mu_ held) ----------------------------------------------------------------------------------------

FA_INLINE std::int64_t GenerationTracker::tick(std::optional<std::int64_t> now) {
  std::int64_t t = now ? *now : options_.clock_ms();
  if (t < last_now_) t = last_now_;  // durations never go negative, sweeps never go back
  last_now_ = t;
  return t;
}

FA_INLINE void GenerationTracker::record(const Status& s, Status& st) {
  if (s.ok()) {
    ++stats_.events;
    return;
  }
  ++stats_.sink_errors;
  if (options_.on_error) options_.on_error(s);
  if (st.ok()) st = s;
}

FA_INLINE void GenerationTracker::emit(const nlohmann::json& ev, Status& st) {
  Status s;
  try {
    s = logger_ != nullptr ? logger_->log(ev) : sink_(ev);
  } catch (const std::exception& e) {
    s = {Code::internal, fmt::format("event sink threw: {}", e.what())};
  } catch (...) {
    s = {Code::internal, "event sink threw"};
  }
  record(s, st);
}

FA_INLINE void GenerationTracker::emit_summary(const GenerationEvent& g, Status& st) {
  if (logger_ == nullptr) return emit(g.to_json(), st);
  record(logger_->log(g), st);
}

FA_INLINE void GenerationTracker::emit_anomaly(const std::string& id, const std::string& anomaly,
                                               std::string_view state, const nlohmann::json& received,
                                               bool keep_event, const std::string& detail, Status& st) {
  nlohmann::json ev = {{"event_type", "generation.anomaly"},
                       {"request_id", id},
                       {"anomaly", anomaly},
                       {"state", std::string(state)},
                       {"received", received.at("event_type")}};
  for (const char* k : {"user_id", "tenant_id", "session_id"})
    if (auto it = received.find(k); it != received.end()) ev[k] = *it;
  if (keep_event) ev["event"] = received;
  if (!detail.empty()) ev["detail"] = detail;
  ++stats_.anomalies;
  emit(ev, st);
}

FA_INLINE void GenerationTracker::add_identity(const Entry* e, nlohmann::json& ev) const {
  if (e == nullptr) return;
  auto put = [&ev](const char* k, const std::string& v) {
    if (!v.empty() && !ev.contains(k)) ev[k] = v;
  };
  put("user_id", e->sub.user_id);
  put("tenant_id", e->sub.tenant_id);
  put("session_id", e->sub.session_id);
}

FA_INLINE void GenerationTracker::touch(Entry& e, std::int64_t now) {
  e.last = now;
  std::list<std::string>& list = e.in_finished ? finished_ : active_;
  list.splice(list.end(), list, e.pos);
}

FA_INLINE void GenerationTracker::forget(const std::string& id_ref, bool webhook_done) {
  const std::string id = id_ref;  // id_ref may live in the entry or a list node erased below
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  (e.in_finished ? finished_ : active_).erase(e.pos);
  const Forgotten f{e.state, e.submitted, webhook_done};
  entries_.erase(it);
  if (options_.max_forgotten == 0) return;
  forgotten_[id] = f;
  forgotten_order_.push_back(id);
  while (forgotten_order_.size() > options_.max_forgotten) {
    forgotten_.erase(forgotten_order_.front());
    forgotten_order_.pop_front();
  }
}

FA_INLINE void GenerationTracker::finish(const std::string& id, Entry& e, std::int64_t now) {
  if (!e.in_finished) {
    active_.erase(e.pos);
    e.in_finished = true;
    e.pos = finished_.insert(finished_.end(), id);
  }
  e.last = now;
  e.sub.request = GenerationEvent::Request{};  // the summary is written: keep only the identity
  if (options_.finished_retention.count() <= 0) forget(id, false);
}

FA_INLINE void GenerationTracker::abandon(const std::string& id, Entry& e, std::int64_t now, const char* reason,
                                          Status& st) {
  nlohmann::json ev = {{"event_type", "generation.abandoned"},
                       {"request_id", id},
                       {"last_state", std::string(generation_state_name(e.state))},
                       {"timeout_ms", static_cast<std::int64_t>(options_.abandon_after.count())},
                       {"idle_ms", now - e.last},
                       {"reason", reason}};
  add_identity(&e, ev);
  ++stats_.abandoned;
  emit(ev, st);
  e.state = GenerationState::abandoned;
  finish(id, e, now);
}

FA_INLINE GenerationTracker::Entry& GenerationTracker::create(const std::string& id, std::int64_t now, Status& st) {
  while (entries_.size() >= options_.max_tracked) {
    ++stats_.evicted;
    if (!finished_.empty()) {
      forget(finished_.front(), false);
    } else {
      const std::string victim = active_.front();
      abandon(victim, entries_.at(victim), now, "capacity", st);
      forget(victim, false);  // no-op when finish() already forgot it
    }
  }
  Entry& e = entries_[id];
  e.last = now;
  e.pos = active_.insert(active_.end(), id);
  return e;
}

FA_INLINE GenerationTracker::Entry* GenerationTracker::step(const std::string& id, Verb verb, std::int64_t now,
                                                            nlohmann::json& ev, Status& st) {
  using tracker_impl::terminal;
  const std::string verb_s = tracker_impl::verb_name(static_cast<int>(verb));
  const bool terminal_verb = verb == Verb::completed || verb == Verb::failed || verb == Verb::cancelled;
  auto after_terminal = [&](GenerationState s) {
    return terminal_verb && verb_s == generation_state_name(s) ? verb_s + "_twice" : "event_after_terminal";
  };

  auto it = entries_.find(id);
  if (it == entries_.end()) {
    if (auto f = forgotten_.find(id); f != forgotten_.end()) {
      const std::string anomaly = verb == Verb::submitted
                                      ? (f->second.submitted ? "submitted_twice" : "event_after_terminal")
                                      : after_terminal(f->second.state);
      emit_anomaly(id, anomaly, generation_state_name(f->second.state), ev, true, {}, st);
      return nullptr;
    }
    if (verb != Verb::submitted) emit_anomaly(id, verb_s + "_before_submitted", "unknown", ev, false, {}, st);
    return &create(id, now, st);
  }

  Entry& e = it->second;
  add_identity(&e, ev);
  const std::string_view state = generation_state_name(e.state);
  std::string reject;
  if (verb == Verb::submitted) {
    if (e.submitted) reject = "submitted_twice";  // else: adopted, the submission arrives late
  } else if (terminal(e.state)) {
    reject = after_terminal(e.state);
  } else if (verb == Verb::queued && e.state == GenerationState::started) {
    reject = "queued_after_started";
  } else if (verb == Verb::started && e.state == GenerationState::started) {
    reject = "started_twice";
  } else if (verb == Verb::completed && e.state != GenerationState::started) {
    emit_anomaly(id, "completed_before_started", state, ev, false, {}, st);
  }
  if (!reject.empty()) {
    emit_anomaly(id, reject, state, ev, true, {}, st);
    return nullptr;
  }
  return &e;
}

// --- lifecycle ---------------------------------------------------------------------------------------------------

FA_INLINE Status GenerationTracker::submitted(const std::string& id, const Submission& sub) {
  return tracker_impl::guarded([&] {
    if (id.empty()) return Status{Code::invalid_argument, "generation tracker: request_id is empty"};
    std::lock_guard<std::mutex> lk(mu_);
    const std::int64_t now = tick();
    Status st;
    nlohmann::json ev = {{"event_type", "generation.submitted"}, {"request_id", id}};
    auto put = [&ev](const char* k, const std::string& v) {
      if (!v.empty()) ev[k] = v;
    };
    put("user_id", sub.user_id);
    put("tenant_id", sub.tenant_id);
    put("session_id", sub.session_id);
    put("ip_address", sub.ip_address);
    put("user_agent", sub.user_agent);
    ev["request"] = tracker_impl::request_json(sub.request);
    put("model_version", sub.model_version);
    put("refiner_model", sub.refiner_model);
    const bool adopted = entries_.count(id) != 0;  // tracked but not submitted: adopted after an anomaly
    Entry* e = step(id, Verb::submitted, now, ev, st);
    if (e == nullptr) return st;
    e->submitted = true;
    e->sub = sub;
    if (tracker_impl::terminal(e->state)) {
      e->sub.request = GenerationEvent::Request{};
    } else {
      if (!adopted) e->submitted_at = now;
      touch(*e, now);
    }
    emit(ev, st);
    return st;
  });
}

FA_INLINE Status GenerationTracker::queued(const std::string& id, std::int64_t position) {
  return tracker_impl::guarded([&] {
    if (id.empty()) return Status{Code::invalid_argument, "generation tracker: request_id is empty"};
    std::lock_guard<std::mutex> lk(mu_);
    const std::int64_t now = tick();
    Status st;
    nlohmann::json ev = {{"event_type", "generation.queued"}, {"request_id", id}};
    if (position >= 0) ev["queue_position"] = position;
    Entry* e = step(id, Verb::queued, now, ev, st);
    if (e == nullptr) return st;
    e->state = GenerationState::queued;
    if (!e->queued_at) e->queued_at = now;
    touch(*e, now);
    emit(ev, st);
    return st;
  });
}

FA_INLINE Status GenerationTracker::started(const std::string& id, const std::string& worker_id) {
  return tracker_impl::guarded([&] {
    if (id.empty()) return Status{Code::invalid_argument, "generation tracker: request_id is empty"};
    std::lock_guard<std::mutex> lk(mu_);
    const std::int64_t now = tick();
    Status st;
    nlohmann::json ev = {{"event_type", "generation.started"}, {"request_id", id}};
    if (!worker_id.empty()) ev["worker_id"] = worker_id;
    Entry* e = step(id, Verb::started, now, ev, st);
    if (e == nullptr) return st;
    const std::optional<std::int64_t> from = e->queued_at ? e->queued_at : e->submitted_at;
    if (from) {
      e->queue_wait_ms = now - *from;
      ev["queue_wait_ms"] = *e->queue_wait_ms;
    }
    e->state = GenerationState::started;
    e->started_at = now;
    e->worker_id = worker_id;
    touch(*e, now);
    emit(ev, st);
    return st;
  });
}

FA_INLINE Status GenerationTracker::completed(const std::string& id, const std::vector<std::string>& paths) {
  Completion c;
  c.outputs.reserve(paths.size());
  for (const std::string& p : paths) c.outputs.push_back(Output{p, {}, std::nullopt});
  return completed(id, c);
}

FA_INLINE Status GenerationTracker::completed(const std::string& id, const Completion& c) {
  return tracker_impl::guarded([&] {
    if (id.empty()) return Status{Code::invalid_argument, "generation tracker: request_id is empty"};
    // Hash and inspect the files before taking the lock: this is the slow part.
    std::vector<Described> described;
    described.reserve(c.outputs.size());
    for (const Output& o : c.outputs) described.push_back(Described{&o, describe_output(o.path)});

    nlohmann::json outputs = nlohmann::json::array();
    bool all_verdicts = !c.outputs.empty(), any_nsfw = false;
    nlohmann::json verdicts = nlohmann::json::array();
    for (const Described& d : described) {
      nlohmann::json o = {{"path", d.spec->path}};
      if (!d.spec->url.empty()) o["url"] = d.spec->url;
      if (d.file.ok()) {
        const OutputFile& f = d.file.value();
        o["sha256"] = f.sha256;
        o["file_size_bytes"] = f.file_size_bytes;
        o["format"] = std::string(image_format_name(f.format));
        if (f.format != ImageFormat::other) {
          o["width"] = f.width;
          o["height"] = f.height;
        }
      }
      outputs.push_back(std::move(o));
      if (d.spec->has_nsfw_concepts) {
        verdicts.push_back(*d.spec->has_nsfw_concepts);
        any_nsfw = any_nsfw || *d.spec->has_nsfw_concepts;
      } else {
        all_verdicts = false;
      }
    }
    nlohmann::json ev = {{"event_type", "generation.completed"}, {"request_id", id}, {"outputs", outputs}};
    nlohmann::json safety = nlohmann::json::object();
    if (all_verdicts) safety["has_nsfw_concepts"] = verdicts;
    if (!c.safety_checker_version.empty()) safety["safety_checker_version"] = c.safety_checker_version;
    if (!safety.empty()) ev["safety"] = safety;

    std::lock_guard<std::mutex> lk(mu_);
    const std::int64_t now = tick();
    Status st;
    const auto prior = entries_.find(id);
    const std::string_view state =
        prior == entries_.end() ? std::string_view("unknown") : generation_state_name(prior->second.state);
    Entry* e = step(id, Verb::completed, now, ev, st);
    if (e == nullptr) return st;
    for (const Described& d : described) {
      if (!d.file.ok())
        emit_anomaly(id, "output_unreadable", state, ev, false,
                     fmt::format("{}: {}", d.spec->path, d.file.status().to_string()), st);
      else if (!d.file.value().image_error.empty())
        emit_anomaly(id, "output_not_image", state, ev, false,
                     fmt::format("{}: {}", d.spec->path, d.file.value().image_error), st);
    }
    std::optional<std::int64_t> duration;
    if (e->started_at) duration = now - *e->started_at;
    if (duration) ev["generation_duration_ms"] = *duration;
    emit(ev, st);

    if (options_.emit_summary && e->submitted) {
      GenerationEvent g;
      g.timestamp = record::format_timestamp(options_.wall_clock_micros());
      g.request_id = id;
      g.user_id = e->sub.user_id;
      g.tenant_id = e->sub.tenant_id;
      g.session_id = e->sub.session_id;
      g.ip_address = e->sub.ip_address;
      g.user_agent = e->sub.user_agent;
      g.request = e->sub.request;
      g.processing.worker_id = e->worker_id;
      g.processing.queue_wait_ms = e->queue_wait_ms.value_or(0);
      g.processing.generation_duration_ms = duration.value_or(0);
      g.processing.retry_count = c.retry_count;
      g.processing.model_version = e->sub.model_version;
      g.processing.refiner_model = e->sub.refiner_model;
      for (const Described& d : described) {
        if (!d.file.ok()) continue;  // no hash to give: output_unreadable says so
        GenerationEvent::Output o;
        o.url = d.spec->url.empty() ? d.spec->path : d.spec->url;
        o.hash = d.file.value().sha256;
        o.width = d.file.value().width;
        o.height = d.file.value().height;
        o.file_size_bytes = static_cast<std::int64_t>(d.file.value().file_size_bytes);
        g.outputs.push_back(std::move(o));
      }
      g.safety.has_nsfw_concepts = any_nsfw;
      g.safety.safety_checker_version = c.safety_checker_version;
      g.result = "success";
      emit_summary(g, st);
    }
    e->state = GenerationState::completed;
    finish(id, *e, now);
    return st;
  });
}

FA_INLINE Status GenerationTracker::failed(const std::string& id, const std::string& error_details,
                                           std::int64_t retry_count) {
  return tracker_impl::guarded([&] {
    if (id.empty()) return Status{Code::invalid_argument, "generation tracker: request_id is empty"};
    std::lock_guard<std::mutex> lk(mu_);
    const std::int64_t now = tick();
    Status st;
    nlohmann::json ev = {{"event_type", "generation.failed"},
                         {"request_id", id},
                         {"error_details", error_details.empty() ? "unspecified" : error_details},
                         {"retry_count", retry_count}};
    Entry* e = step(id, Verb::failed, now, ev, st);
    if (e == nullptr) return st;
    if (e->started_at) ev["generation_duration_ms"] = now - *e->started_at;
    emit(ev, st);
    e->state = GenerationState::failed;
    finish(id, *e, now);
    return st;
  });
}

FA_INLINE Status GenerationTracker::cancelled(const std::string& id, const std::string& cancelled_by,
                                              const std::string& reason) {
  return tracker_impl::guarded([&] {
    if (id.empty()) return Status{Code::invalid_argument, "generation tracker: request_id is empty"};
    std::lock_guard<std::mutex> lk(mu_);
    const std::int64_t now = tick();
    Status st;
    nlohmann::json ev = {{"event_type", "generation.cancelled"}, {"request_id", id}};
    if (!cancelled_by.empty()) ev["cancelled_by"] = cancelled_by;
    if (!reason.empty()) ev["reason"] = reason;
    Entry* e = step(id, Verb::cancelled, now, ev, st);
    if (e == nullptr) return st;
    emit(ev, st);
    e->state = GenerationState::cancelled;
    finish(id, *e, now);
    return st;
  });
}

FA_INLINE Status GenerationTracker::webhook(const std::string& id, std::int64_t attempt, int http_status,
                                            bool delivered) {
  WebhookAttempt a;
  a.attempt = attempt;
  a.status = http_status;
  a.delivered = delivered;
  return webhook(id, a);
}

FA_INLINE Status GenerationTracker::webhook(const std::string& id, const WebhookAttempt& a) {
  return tracker_impl::guarded([&] {
    if (id.empty()) return Status{Code::invalid_argument, "generation tracker: request_id is empty"};
    std::lock_guard<std::mutex> lk(mu_);
    const std::int64_t now = tick();
    Status st;
    nlohmann::json ev = {{"event_type", a.delivered ? "webhook.delivered" : "webhook.failed"},
                         {"request_id", id},
                         {"attempt", a.attempt},
                         {"retry", !a.delivered && a.retry}};
    if (a.status >= 100 && a.status <= 599) ev["status"] = a.status;
    if (!a.url_host.empty()) ev["url_host"] = a.url_host;
    if (!a.delivered && !a.error.empty()) ev["error"] = a.error;

    auto it = entries_.find(id);
    if (it == entries_.end()) {
      if (auto f = forgotten_.find(id); f != forgotten_.end())
        emit_anomaly(id, f->second.webhook_done ? "webhook_after_final_attempt" : "webhook_after_retention",
                     generation_state_name(f->second.state), ev, true, {}, st);
      else
        emit_anomaly(id, "unknown_request", "unknown", ev, true, {}, st);
      return st;
    }
    Entry& e = it->second;
    add_identity(&e, ev);
    const std::string_view state = generation_state_name(e.state);
    if (!tracker_impl::terminal(e.state)) {
      emit_anomaly(id, "webhook_before_terminal", state, ev, true, {}, st);
    } else if (a.attempt < 1) {
      emit_anomaly(id, "webhook_attempt_invalid", state, ev, true, {}, st);
    } else if (a.attempt <= e.last_attempt) {
      emit_anomaly(id, "webhook_attempt_repeated", state, ev, true, {}, st);
    } else {
      emit(ev, st);
      e.last_attempt = a.attempt;
      if (a.delivered || !a.retry)
        forget(id, true);
      else
        touch(e, now);
    }
    return st;
  });
}

FA_INLINE Status GenerationTracker::sweep() { return sweep_at(std::nullopt); }

FA_INLINE Status GenerationTracker::sweep(std::int64_t now_ms) { return sweep_at(now_ms); }

FA_INLINE Status GenerationTracker::sweep_at(std::optional<std::int64_t> now_ms) {
  return tracker_impl::guarded([&] {
    std::lock_guard<std::mutex> lk(mu_);
    const std::int64_t now = tick(now_ms);
    Status st;
    const std::int64_t idle = options_.abandon_after.count();
    while (idle > 0 && !active_.empty()) {
      const std::string id = active_.front();
      Entry& e = entries_.at(id);
      if (now - e.last < idle) break;
      abandon(id, e, now, "timeout", st);
    }
    const std::int64_t keep = options_.finished_retention.count();
    while (!finished_.empty()) {
      const std::string id = finished_.front();
      if (now - entries_.at(id).last < keep) break;
      forget(id, false);
    }
    return st;
  });
}

FA_INLINE TrackerStats GenerationTracker::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  TrackerStats s = stats_;
  s.active = active_.size();
  s.finished = finished_.size();
  s.forgotten = forgotten_.size();
  return s;
}

FA_INLINE std::optional<GenerationState> GenerationTracker::state(const std::string& id) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.state;
}

}  // namespace fooocus_audit
