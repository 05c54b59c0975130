// SPDX-License-Identifier: Apache-2.0
// GenerationTracker (tracker.hpp): the seed article's §2.3 lifecycle into a real AuditLogger (the log verifies,
// the records correlate by request_id, durations come from an injected clock, output files are hashed and
// measured), every illegal transition recorded as a generation.anomaly, abandonment after a timeout, bounded
// memory, sink errors, and many worker threads at once (the "concurrency:" test also runs under TSan).
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/events.hpp"
#include "fooocus_audit/file_hash.hpp"
#include "fooocus_audit/tracker.hpp"
#include "support/images.hpp"
#include "support/logger_support.hpp"

namespace fa = fooocus_audit;
using fa::GenerationState;
using fa::GenerationTracker;
using fa::Status;
using nlohmann::json;

namespace {

/// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> ms = std::make_shared<std::atomic<std::int64_t>>(1'000'000);
  std::function<std::int64_t()> fn() const {
    return [t = ms] { return t->load(); };
  }
  void set(std::int64_t v) { ms->store(v); }
  void advance(std::int64_t d) { ms->fetch_add(d); }
};

/// Collects the tracker's events (thread-safe) and checks each against the event schema.
struct Collector {
  std::mutex mu;
  std::vector<json> events;
  GenerationTracker::EventSink sink() {
    return [this](const json& ev) {
      std::lock_guard<std::mutex> lk(mu);
      events.push_back(ev);
      return fa::events::validate_event(ev);
    };
  }
  std::vector<json> take() {
    std::lock_guard<std::mutex> lk(mu);
    std::vector<json> out;
    out.swap(events);
    return out;
  }
};

fa::TrackerOptions options_with(const FakeClock& clock) {
  fa::TrackerOptions o;
  o.clock_ms = clock.fn();
  o.wall_clock_micros = [] { return std::int64_t{1774449045123000}; };  // 2026-03-25T14:30:45.123Z
  return o;
}

GenerationTracker::Submission submission(const std::string& user = "alice@enterprise.com") {
  GenerationTracker::Submission s;
  s.user_id = user;
  s.tenant_id = "acme_corp";
  s.session_id = "sess_abc123def456";
  s.ip_address = "10.2.3.4";
  s.user_agent = "Fooocus-API-client/1.0";
  s.request.prompt_sanitized = "professional product photography, luxury watch on marble surface";
  s.request.prompt_hash = "sha256:" + std::string(64, 'a');
  s.request.negative_prompt = "blurry, low resolution, watermark";
  s.request.performance = "Quality";
  s.request.aspect_ratio = "1024x1024";
  s.request.num_images = 3;
  s.request.seed = 176400;
  s.request.loras = {{"brand-style-v2", 0.8}};
  s.request.styles = {"Fooocus Enhance", "Fooocus Sharp"};
  s.model_version = "sd_xl_base_1.0";
  s.refiner_model = "None";
  return s;
}

std::vector<std::string> types(const std::vector<json>& evs) {
  std::vector<std::string> out;
  for (const json& e : evs) out.push_back(e.at("event_type").get<std::string>());
  return out;
}

/// Checks `ev` is the anomaly `name` for `id`, in tracker state `state`, about `received`.
void check_anomaly(const json& ev, const std::string& id, const std::string& name, const std::string& state,
                   const std::string& received) {
  INFO(ev.dump());
  CHECK(ev.at("event_type") == "generation.anomaly");
  CHECK(ev.at("request_id") == id);
  CHECK(ev.at("anomaly") == name);
  CHECK(ev.at("state") == state);
  CHECK(ev.at("received") == received);
  CHECK(fa::events::validate_event(ev).ok());
}

/// Image files of the three formats in `dir`.
struct Outputs {
  std::string png, jpeg, webp;
  explicit Outputs(const fa_test::TempDir& dir, const std::string& prefix = "out") {
    png = dir / (prefix + "_0.png");
    jpeg = dir / (prefix + "_1.jpg");
    webp = dir / (prefix + "_2.webp");
    fa_test::write_bytes(png, fa_test::make_png(128, 96));
    fa_test::write_bytes(jpeg, fa_test::make_jpeg(1024, 1024, 2048));
    fa_test::write_bytes(webp, fa_test::make_webp_vp8(1152, 896));
  }
};

}  // namespace

TEST_CASE("tracker: the seed §2.3 lifecycle into a real AuditLogger verifies and correlates by request_id") {
  fa_test::TempDir dir("fa_tracker");
  Outputs out(dir);
  FakeClock clock;
  const std::string log_dir = dir / "log";
  auto logger = fa_test::must_open(fa_test::options_for(log_dir));
  {
    GenerationTracker tracker(*logger, options_with(clock));
    const std::string id = "req_764cabcf-b745-4b3e-ae38-1200304cf45b";

    REQUIRE(tracker.submitted(id, submission()).ok());
    clock.advance(100);
    REQUIRE(tracker.queued(id, 2).ok());
    clock.advance(234);
    REQUIRE(tracker.started(id, "gpu-node-5").ok());
    CHECK(tracker.state(id) == GenerationState::started);
    // Another request interleaves: its records must not mix with the first one's.
    REQUIRE(tracker.submitted("req_other", submission("bob@enterprise.com")).ok());
    REQUIRE(tracker.started("req_other", "gpu-node-6").ok());
    clock.advance(8542);
    GenerationTracker::Completion c;
    c.outputs = {{out.png, "s3://company-images/generations/acme_corp/req_764cabcf_0.png", false},
                 {out.jpeg, "", false},
                 {out.webp, "", true}};
    c.safety_checker_version = "v2.1";
    REQUIRE(tracker.completed(id, c).ok());
    CHECK(tracker.state(id) == GenerationState::completed);
    clock.advance(40);
    GenerationTracker::WebhookAttempt w;
    w.attempt = 1;
    w.status = 503;
    w.retry = true;
    w.url_host = "hooks.acme.example";
    w.error = "service unavailable";
    REQUIRE(tracker.webhook(id, w).ok());
    CHECK(tracker.state(id) == GenerationState::completed);  // still waiting for the next attempt
    REQUIRE(tracker.webhook(id, 2, 200, true).ok());
    CHECK_FALSE(tracker.state(id).has_value());  // webhook phase over: forgotten
    REQUIRE(tracker.failed("req_other", "CUDA out of memory", 1).ok());

    const fa::TrackerStats st = tracker.stats();
    CHECK(st.active == 0);
    CHECK(st.finished == 1);  // req_other waits for a webhook until the retention ends
    CHECK(st.forgotten == 1);
    CHECK(st.anomalies == 0);
    CHECK(st.sink_errors == 0);
    CHECK(st.events == 10);
  }
  REQUIRE(logger->close().ok());

  const fa::VerifySummary v = fa_test::verify(log_dir);
  INFO(fa_test::describe(v));
  REQUIRE(v.intact);

  std::map<std::string, std::vector<json>> by_request;
  for (const json& e : fa_test::user_events(fa_test::read_records(log_dir))) {
    REQUIRE(fa::events::validate_event(e).ok());
    by_request[e.at("request_id").get<std::string>()].push_back(e);
  }
  REQUIRE(by_request.size() == 2);
  const std::vector<json>& r = by_request.at("req_764cabcf-b745-4b3e-ae38-1200304cf45b");
  REQUIRE(types(r) == std::vector<std::string>{"generation.submitted", "generation.queued", "generation.started",
                                               "generation.completed", "image_generation", "webhook.failed",
                                               "webhook.delivered"});
  for (const json& e : r) {
    CHECK(e.at("user_id") == "alice@enterprise.com");
    CHECK(e.at("tenant_id") == "acme_corp");
  }
  CHECK(r[0].at("request").at("seed") == 176400);
  CHECK(r[0].at("request").at("loras")[0].at("name") == "brand-style-v2");
  CHECK(r[0].at("model_version") == "sd_xl_base_1.0");
  CHECK(r[0].at("ip_address") == "10.2.3.4");
  CHECK(r[1].at("queue_position") == 2);
  CHECK(r[2].at("worker_id") == "gpu-node-5");
  CHECK(r[2].at("queue_wait_ms") == 234);  // started - queued

  const json& done = r[3];
  CHECK(done.at("generation_duration_ms") == 8542);  // completed - started
  REQUIRE(done.at("outputs").size() == 3);
  const json& o0 = done.at("outputs")[0];
  CHECK(o0.at("path") == out.png);
  CHECK(o0.at("url") == "s3://company-images/generations/acme_corp/req_764cabcf_0.png");
  CHECK(o0.at("sha256") == fa::hash_file(out.png).value());
  CHECK(o0.at("format") == "png");
  CHECK(o0.at("width") == 128);
  CHECK(o0.at("height") == 96);
  CHECK(o0.at("file_size_bytes") == fa_test::make_png(128, 96).size());
  CHECK(done.at("outputs")[1].at("format") == "jpeg");
  CHECK(done.at("outputs")[1].at("width") == 1024);
  CHECK(done.at("outputs")[1].at("sha256") == fa::hash_file(out.jpeg).value());
  CHECK(done.at("outputs")[2].at("format") == "webp");
  CHECK(done.at("outputs")[2].at("height") == 896);
  CHECK(done.at("safety").at("has_nsfw_concepts") == json::array({false, false, true}));
  CHECK(done.at("safety").at("safety_checker_version") == "v2.1");

  // The §2.2 summary, correlated by request_id, with everything the lifecycle learned.
  const json& sum = r[4];
  CHECK(sum.at("version") == "1.0");
  CHECK(sum.at("timestamp") == "2026-03-25T14:30:45.123000Z");
  CHECK(sum.at("session_id") == "sess_abc123def456");
  CHECK(sum.at("user_agent") == "Fooocus-API-client/1.0");
  CHECK(sum.at("request").at("prompt_sanitized") ==
        "professional product photography, luxury watch on marble surface");
  CHECK(sum.at("request").at("num_images") == 3);
  CHECK(sum.at("processing").at("worker_id") == "gpu-node-5");
  CHECK(sum.at("processing").at("queue_wait_ms") == 234);
  CHECK(sum.at("processing").at("generation_duration_ms") == 8542);
  CHECK(sum.at("processing").at("model_version") == "sd_xl_base_1.0");
  CHECK(sum.at("processing").at("refiner_model") == "None");
  REQUIRE(sum.at("outputs").size() == 3);
  CHECK(sum.at("outputs")[0].at("url") == "s3://company-images/generations/acme_corp/req_764cabcf_0.png");
  CHECK(sum.at("outputs")[0].at("hash") == o0.at("sha256"));
  CHECK(sum.at("outputs")[1].at("url") == out.jpeg);  // no URL given: the path
  CHECK(sum.at("outputs")[2].at("hash") == fa::hash_file(out.webp).value());
  CHECK(sum.at("outputs")[2].at("width") == 1152);
  CHECK(sum.at("safety").at("has_nsfw_concepts") == true);  // one of the images was flagged
  CHECK(sum.at("result") == "success");

  CHECK(r[5].at("attempt") == 1);
  CHECK(r[5].at("status") == 503);
  CHECK(r[5].at("retry") == true);
  CHECK(r[5].at("url_host") == "hooks.acme.example");
  CHECK(r[5].at("error") == "service unavailable");
  CHECK(r[6].at("attempt") == 2);
  CHECK(r[6].at("status") == 200);

  const std::vector<json>& other = by_request.at("req_other");
  REQUIRE(types(other) ==
          std::vector<std::string>{"generation.submitted", "generation.started", "generation.failed"});
  CHECK(other[1].at("queue_wait_ms") == 0);  // never queued: started - submitted
  CHECK(other[2].at("generation_duration_ms") == 8542 + 40);
  CHECK(other[2].at("error_details") == "CUDA out of memory");
  CHECK(other[2].at("retry_count") == 1);
  CHECK(other[2].at("user_id") == "bob@enterprise.com");
}

TEST_CASE("tracker: every illegal transition becomes a generation.anomaly, never an exception") {
  fa_test::TempDir dir("fa_tracker");
  Outputs out(dir);
  FakeClock clock;
  Collector col;
  fa::TrackerOptions opt = options_with(clock);
  opt.finished_retention = std::chrono::milliseconds(1000);
  GenerationTracker t(col.sink(), opt);

  SECTION("started before submitted: recorded, then the request is adopted and its lifecycle goes on") {
    REQUIRE(t.started("r1", "gpu-1").ok());
    std::vector<json> ev = col.take();
    REQUIRE(types(ev) == std::vector<std::string>{"generation.anomaly", "generation.started"});
    check_anomaly(ev[0], "r1", "started_before_submitted", "unknown", "generation.started");
    CHECK_FALSE(ev[0].contains("event"));  // applied, so not kept in the anomaly
    CHECK_FALSE(ev[1].contains("queue_wait_ms"));  // nothing to measure from
    clock.advance(50);
    REQUIRE(t.completed("r1", std::vector<std::string>{out.png}).ok());
    ev = col.take();
    REQUIRE(types(ev) == std::vector<std::string>{"generation.completed"});  // no summary: submission unknown
    CHECK(ev[0].at("generation_duration_ms") == 50);
    // The submission arrives late (another thread): written, no second anomaly.
    REQUIRE(t.submitted("r1", submission()).ok());
    ev = col.take();
    REQUIRE(types(ev) == std::vector<std::string>{"generation.submitted"});
    REQUIRE(t.submitted("r1", submission()).ok());
    ev = col.take();
    REQUIRE(ev.size() == 1);
    check_anomaly(ev[0], "r1", "submitted_twice", "completed", "generation.submitted");
  }

  SECTION("each lifecycle event for an unknown request names itself") {
    REQUIRE(t.queued("q", 0).ok());
    REQUIRE(t.failed("f", "boom").ok());
    REQUIRE(t.cancelled("c", "admin", "policy").ok());
    REQUIRE(t.completed("d", std::vector<std::string>{}).ok());
    const std::vector<json> ev = col.take();
    REQUIRE(ev.size() == 8);
    check_anomaly(ev[0], "q", "queued_before_submitted", "unknown", "generation.queued");
    check_anomaly(ev[2], "f", "failed_before_submitted", "unknown", "generation.failed");
    check_anomaly(ev[4], "c", "cancelled_before_submitted", "unknown", "generation.cancelled");
    check_anomaly(ev[6], "d", "completed_before_submitted", "unknown", "generation.completed");
    CHECK(ev[5].at("cancelled_by") == "admin");
    CHECK(t.stats().anomalies == 4);
  }

  SECTION("completed twice: the second completion is rejected but its output hashes are kept") {
    REQUIRE(t.submitted("r2", submission()).ok());
    REQUIRE(t.started("r2", "gpu-1").ok());
    REQUIRE(t.completed("r2", std::vector<std::string>{out.png}).ok());
    col.take();
    REQUIRE(t.completed("r2", std::vector<std::string>{out.jpeg}).ok());
    std::vector<json> ev = col.take();
    REQUIRE(ev.size() == 1);
    check_anomaly(ev[0], "r2", "completed_twice", "completed", "generation.completed");
    CHECK(ev[0].at("user_id") == "alice@enterprise.com");
    CHECK(ev[0].at("event").at("outputs")[0].at("sha256") == fa::hash_file(out.jpeg).value());
    CHECK(t.state("r2") == GenerationState::completed);
    // Other events after the terminal state.
    REQUIRE(t.started("r2", "gpu-2").ok());
    REQUIRE(t.failed("r2", "late failure").ok());
    REQUIRE(t.queued("r2", 1).ok());
    ev = col.take();
    REQUIRE(ev.size() == 3);
    check_anomaly(ev[0], "r2", "event_after_terminal", "completed", "generation.started");
    check_anomaly(ev[1], "r2", "event_after_terminal", "completed", "generation.failed");
    CHECK(ev[1].at("event").at("error_details") == "late failure");
    check_anomaly(ev[2], "r2", "event_after_terminal", "completed", "generation.queued");
    // Still recognized after the request is forgotten (webhook delivered).
    REQUIRE(t.webhook("r2", 1, 204, true).ok());
    CHECK_FALSE(t.state("r2").has_value());
    col.take();
    REQUIRE(t.completed("r2", std::vector<std::string>{out.png}).ok());
    REQUIRE(t.webhook("r2", 2, 200, true).ok());
    REQUIRE(t.submitted("r2", submission()).ok());
    ev = col.take();
    REQUIRE(ev.size() == 3);
    check_anomaly(ev[0], "r2", "completed_twice", "completed", "generation.completed");
    check_anomaly(ev[1], "r2", "webhook_after_final_attempt", "completed", "webhook.delivered");
    check_anomaly(ev[2], "r2", "submitted_twice", "completed", "generation.submitted");
  }

  SECTION("out-of-order steps while active") {
    REQUIRE(t.submitted("r3", submission()).ok());
    REQUIRE(t.submitted("r3", submission()).ok());
    REQUIRE(t.started("r3", "gpu-1").ok());
    REQUIRE(t.started("r3", "gpu-2").ok());
    REQUIRE(t.queued("r3", 4).ok());
    REQUIRE(t.webhook("r3", 1, 200, true).ok());
    std::vector<json> ev = col.take();
    REQUIRE(types(ev) == std::vector<std::string>{"generation.submitted", "generation.anomaly",
                                                  "generation.started", "generation.anomaly",
                                                  "generation.anomaly", "generation.anomaly"});
    check_anomaly(ev[1], "r3", "submitted_twice", "submitted", "generation.submitted");
    check_anomaly(ev[3], "r3", "started_twice", "started", "generation.started");
    CHECK(ev[3].at("event").at("worker_id") == "gpu-2");
    check_anomaly(ev[4], "r3", "queued_after_started", "started", "generation.queued");
    check_anomaly(ev[5], "r3", "webhook_before_terminal", "started", "webhook.delivered");
    CHECK(t.state("r3") == GenerationState::started);

    // Completed while only queued: recorded, then applied (without a duration).
    REQUIRE(t.submitted("r4", submission()).ok());
    REQUIRE(t.queued("r4", 0).ok());
    REQUIRE(t.queued("r4", 1).ok());  // a position update is legal
    col.take();
    REQUIRE(t.completed("r4", std::vector<std::string>{out.webp}).ok());
    ev = col.take();
    REQUIRE(types(ev) ==
            std::vector<std::string>{"generation.anomaly", "generation.completed", "image_generation"});
    check_anomaly(ev[0], "r4", "completed_before_started", "queued", "generation.completed");
    CHECK_FALSE(ev[1].contains("generation_duration_ms"));
    CHECK(ev[2].at("processing").at("generation_duration_ms") == 0);
  }

  SECTION("webhook attempts: unknown request, invalid, repeated, after the final attempt, after retention") {
    REQUIRE(t.webhook("nobody", 1, 200, true).ok());
    std::vector<json> ev = col.take();
    REQUIRE(ev.size() == 1);
    check_anomaly(ev[0], "nobody", "unknown_request", "unknown", "webhook.delivered");
    CHECK(ev[0].at("event").at("attempt") == 1);

    REQUIRE(t.submitted("w", submission()).ok());
    REQUIRE(t.cancelled("w", "alice@enterprise.com", "changed my mind").ok());
    col.take();
    REQUIRE(t.webhook("w", 0, 500, false).ok());
    GenerationTracker::WebhookAttempt a;
    a.attempt = 1;
    a.status = 0;  // no response: not written
    a.retry = true;
    a.error = "connection refused";
    REQUIRE(t.webhook("w", a).ok());
    REQUIRE(t.webhook("w", a).ok());
    a.attempt = 2;
    a.retry = false;
    REQUIRE(t.webhook("w", a).ok());  // the final attempt: forgotten
    REQUIRE(t.webhook("w", 3, 200, true).ok());
    ev = col.take();
    REQUIRE(types(ev) == std::vector<std::string>{"generation.anomaly", "webhook.failed", "generation.anomaly",
                                                  "webhook.failed", "generation.anomaly"});
    check_anomaly(ev[0], "w", "webhook_attempt_invalid", "cancelled", "webhook.failed");
    CHECK_FALSE(ev[1].contains("status"));
    CHECK(ev[1].at("retry") == true);
    check_anomaly(ev[2], "w", "webhook_attempt_repeated", "cancelled", "webhook.failed");
    CHECK(ev[3].at("retry") == false);
    check_anomaly(ev[4], "w", "webhook_after_final_attempt", "cancelled", "webhook.delivered");

    REQUIRE(t.submitted("late", submission()).ok());
    REQUIRE(t.failed("late", "timeout in sampler").ok());
    clock.advance(1000);  // finished_retention
    REQUIRE(t.sweep().ok());
    CHECK_FALSE(t.state("late").has_value());
    col.take();
    REQUIRE(t.webhook("late", 1, 200, true).ok());
    REQUIRE(t.failed("late", "again").ok());
    ev = col.take();
    REQUIRE(ev.size() == 2);
    check_anomaly(ev[0], "late", "webhook_after_retention", "failed", "webhook.delivered");
    check_anomaly(ev[1], "late", "failed_twice", "failed", "generation.failed");
  }

  SECTION("outputs that cannot be read or are not images are flagged next to the completion") {
    const std::string text = dir / "notes.txt";
    fa_test::write_bytes(text, "plain text");
    REQUIRE(t.submitted("o", submission()).ok());
    REQUIRE(t.started("o", "gpu-1").ok());
    col.take();
    REQUIRE(t.completed("o", std::vector<std::string>{out.png, dir / "missing.png", text}).ok());
    const std::vector<json> ev = col.take();
    REQUIRE(types(ev) == std::vector<std::string>{"generation.anomaly", "generation.anomaly",
                                                  "generation.completed", "image_generation"});
    check_anomaly(ev[0], "o", "output_unreadable", "started", "generation.completed");
    CHECK(ev[0].at("detail").get<std::string>().find("not_found") != std::string::npos);
    check_anomaly(ev[1], "o", "output_not_image", "started", "generation.completed");
    const json& outs = ev[2].at("outputs");
    REQUIRE(outs.size() == 3);
    CHECK(outs[1].at("path") == dir / "missing.png");
    CHECK_FALSE(outs[1].contains("sha256"));
    CHECK(outs[2].at("format") == "other");
    CHECK(outs[2].at("sha256") == fa::hash_file(text).value());
    CHECK_FALSE(outs[2].contains("width"));
    CHECK(ev[3].at("outputs").size() == 2);  // the summary lists the outputs it has a hash for
  }

  SECTION("a throwing sink or clock is reported as a Status") {
    GenerationTracker bad([](const json&) -> Status { throw std::runtime_error("disk on fire"); }, opt);
    const Status s = bad.submitted("x", submission());
    CHECK(s.code() == fa::Code::internal);
    CHECK(s.message().find("disk on fire") != std::string::npos);
    CHECK(bad.state("x") == GenerationState::submitted);  // tracking goes on
    fa::TrackerOptions o2 = opt;
    o2.clock_ms = []() -> std::int64_t { throw std::runtime_error("no clock"); };
    GenerationTracker bad_clock(col.sink(), o2);
    CHECK(bad_clock.started("y", "gpu").code() == fa::Code::internal);
  }
}

TEST_CASE("tracker: requests idle past the timeout are abandoned, ended ones forgotten after retention") {
  fa_test::TempDir dir("fa_tracker");
  Outputs out(dir);
  FakeClock clock;
  Collector col;
  fa::TrackerOptions opt = options_with(clock);
  opt.abandon_after = std::chrono::milliseconds(60'000);
  opt.finished_retention = std::chrono::milliseconds(10'000);
  GenerationTracker t(col.sink(), opt);
  const std::int64_t t0 = clock.ms->load();

  REQUIRE(t.submitted("a", submission()).ok());
  REQUIRE(t.submitted("b", submission()).ok());
  REQUIRE(t.submitted("c", submission()).ok());
  clock.advance(30'000);
  REQUIRE(t.queued("b", 0).ok());
  REQUIRE(t.started("c", "gpu-1").ok());
  REQUIRE(t.submitted("d", submission()).ok());
  REQUIRE(t.completed("d", std::vector<std::string>{out.png}).ok());  // completed before started
  col.take();

  REQUIRE(t.sweep(t0 + 59'999).ok());
  CHECK(col.take().empty());
  REQUIRE(t.sweep(t0 + 60'000).ok());  // a: idle for 60 s
  std::vector<json> ev = col.take();
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].at("event_type") == "generation.abandoned");
  CHECK(ev[0].at("request_id") == "a");
  CHECK(ev[0].at("last_state") == "submitted");
  CHECK(ev[0].at("timeout_ms") == 60'000);
  CHECK(ev[0].at("idle_ms") == 60'000);
  CHECK(ev[0].at("reason") == "timeout");
  CHECK(ev[0].at("user_id") == "alice@enterprise.com");
  CHECK(t.state("a") == GenerationState::abandoned);
  CHECK_FALSE(t.state("d").has_value());  // d ended 30 s ago: past its 10 s retention

  // The background sweeper does the same on its own (its interval is real time; the clock is the test's).
  clock.set(t0 + 90'000);
  {
    fa::TrackerOptions bg = opt;
    bg.sweep_interval = std::chrono::milliseconds(5);
    Collector bg_col;
    GenerationTracker bg_t(bg_col.sink(), bg);
    REQUIRE(bg_t.submitted("z", submission()).ok());
    clock.advance(60'000);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (bg_t.state("z") != GenerationState::abandoned && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    CHECK(bg_t.state("z") == GenerationState::abandoned);
  }

  REQUIRE(t.sweep().ok());  // now t0 + 150 s: b and c abandoned in the order they went idle
  ev = col.take();
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].at("request_id") == "b");
  CHECK(ev[0].at("last_state") == "queued");
  CHECK(ev[0].at("idle_ms") == 120'000);
  CHECK(ev[1].at("request_id") == "c");
  CHECK(ev[1].at("last_state") == "started");
  for (const json& e : ev) CHECK(fa::events::validate_event(e).ok());

  // A completion after abandonment is an anomaly that keeps the outputs' hashes.
  REQUIRE(t.completed("c", std::vector<std::string>{out.jpeg}).ok());
  ev = col.take();
  REQUIRE(ev.size() == 1);
  check_anomaly(ev[0], "c", "event_after_terminal", "abandoned", "generation.completed");
  CHECK(ev[0].at("event").at("outputs")[0].at("sha256") == fa::hash_file(out.jpeg).value());

  const fa::TrackerStats st = t.stats();
  CHECK(st.abandoned == 3);
  CHECK(st.active == 0);
}

TEST_CASE("tracker: memory is bounded: finished requests go first, then the longest-idle active one") {
  FakeClock clock;
  Collector col;
  fa::TrackerOptions opt = options_with(clock);
  opt.max_tracked = 3;
  opt.max_forgotten = 2;
  GenerationTracker t(col.sink(), opt);

  REQUIRE(t.submitted("a", submission()).ok());
  clock.advance(1);
  REQUIRE(t.submitted("b", submission()).ok());
  clock.advance(1);
  REQUIRE(t.submitted("c", submission()).ok());
  clock.advance(1);
  REQUIRE(t.failed("b", "oom").ok());  // b ended: waits for webhooks
  REQUIRE(t.started("a", "gpu").ok());  // a is now more recently active than c
  col.take();

  REQUIRE(t.submitted("d", submission()).ok());  // full: b (finished) is forgotten, nothing written
  CHECK(types(col.take()) == std::vector<std::string>{"generation.submitted"});
  CHECK_FALSE(t.state("b").has_value());

  REQUIRE(t.submitted("e", submission()).ok());  // full of active ones: c (idle longest) is abandoned
  std::vector<json> ev = col.take();
  REQUIRE(types(ev) == std::vector<std::string>{"generation.abandoned", "generation.submitted"});
  CHECK(ev[0].at("request_id") == "c");
  CHECK(ev[0].at("reason") == "capacity");
  CHECK(ev[0].at("last_state") == "submitted");
  CHECK(fa::events::validate_event(ev[0]).ok());

  fa::TrackerStats st = t.stats();
  CHECK(st.active + st.finished == 3);
  CHECK(st.evicted == 2);
  CHECK(st.forgotten == 2);  // b and c remembered ...
  REQUIRE(t.started("c", "gpu").ok());
  ev = col.take();
  REQUIRE(ev.size() == 1);
  check_anomaly(ev[0], "c", "event_after_terminal", "abandoned", "generation.started");

  // ... until max_forgotten pushes the oldest out: then the id is unknown again.
  REQUIRE(t.failed("a", "x").ok());
  REQUIRE(t.failed("d", "x").ok());
  REQUIRE(t.failed("e", "x").ok());
  for (const char* id : {"f", "g", "h", "i"}) REQUIRE(t.submitted(id, submission()).ok());
  st = t.stats();
  CHECK(st.active + st.finished <= 3);
  CHECK(st.forgotten == 2);
  col.take();
  REQUIRE(t.started("b", "gpu").ok());
  ev = col.take();
  REQUIRE_FALSE(ev.empty());
  check_anomaly(ev[0], "b", "started_before_submitted", "unknown", "generation.started");
}

TEST_CASE("tracker: durations use the injected clock, which is kept monotonic") {
  FakeClock clock;
  Collector col;
  GenerationTracker t(col.sink(), options_with(clock));
  REQUIRE(t.submitted("r", submission()).ok());
  clock.advance(500);
  REQUIRE(t.queued("r", 0).ok());
  clock.advance(-200);  // the clock goes back: durations are clamped at 0, never negative
  REQUIRE(t.started("r", "gpu").ok());
  clock.advance(1200);
  REQUIRE(t.failed("r", "sampler diverged", 2).ok());
  const std::vector<json> ev = col.take();
  REQUIRE(ev.size() == 4);
  CHECK(ev[2].at("queue_wait_ms") == 0);
  CHECK(ev[3].at("generation_duration_ms") == 1000);  // from the clamped start (t+500) to t+1500
  for (const json& e : ev) CHECK(fa::events::validate_event(e).ok());
}

TEST_CASE("tracker: a refused event is returned, counted and reported, and tracking goes on") {
  FakeClock clock;
  std::vector<Status> reported;
  fa::TrackerOptions opt = options_with(clock);
  opt.on_error = [&](const Status& s) { reported.push_back(s); };
  bool refuse = true;
  GenerationTracker t([&](const json&) { return refuse ? Status{fa::Code::io_error, "disk full"} : Status{}; },
                      opt);
  const Status s = t.submitted("r", submission());
  CHECK(s.code() == fa::Code::io_error);
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].message() == "disk full");
  CHECK(t.state("r") == GenerationState::submitted);
  refuse = false;
  CHECK(t.started("r", "gpu").ok());
  const fa::TrackerStats st = t.stats();
  CHECK(st.sink_errors == 1);
  CHECK(st.events == 1);
}

TEST_CASE("tracker: an empty request_id is refused, empty optional strings are not written") {
  FakeClock clock;
  Collector col;
  GenerationTracker t(col.sink(), options_with(clock));
  CHECK(t.submitted("", submission()).code() == fa::Code::invalid_argument);
  CHECK(t.started("", "gpu").code() == fa::Code::invalid_argument);
  CHECK(t.completed("", std::vector<std::string>{}).code() == fa::Code::invalid_argument);
  CHECK(t.webhook("", 1, 200, true).code() == fa::Code::invalid_argument);
  CHECK(col.take().empty());
  CHECK(t.stats().active == 0);

  REQUIRE(t.submitted("r", GenerationTracker::Submission{}).ok());
  REQUIRE(t.started("r", "").ok());
  REQUIRE(t.failed("r", "").ok());
  const std::vector<json> ev = col.take();
  REQUIRE(ev.size() == 3);
  CHECK_FALSE(ev[0].contains("user_id"));
  CHECK_FALSE(ev[0].contains("model_version"));
  CHECK_FALSE(ev[1].contains("worker_id"));
  CHECK(ev[2].at("error_details") == "unspecified");
}

TEST_CASE("concurrency: tracker with many worker threads into one AuditLogger") {
  fa_test::TempDir dir("fa_tracker");
  const std::string png = dir / "shared.png";
  fa_test::write_bytes(png, fa_test::make_png(32, 32));
  const std::string log_dir = dir / "log";
  auto logger = fa_test::must_open(fa_test::options_for(log_dir));
  const int threads = 8;
  const int per_thread = fa_test::kUnderTsan ? 20 : 150;
  {
    fa::TrackerOptions opt;
    opt.sweep_interval = std::chrono::milliseconds(1);  // a background sweeper races the workers
    opt.finished_retention = std::chrono::milliseconds(0);
    GenerationTracker t(*logger, opt);
    std::atomic<int> failures{0};
    std::atomic<bool> stop{false};
    std::thread reader([&] {
      while (!stop.load()) {
        (void)t.stats();
        (void)t.state("t0-r0");
        (void)t.sweep();
      }
    });
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; ++w)
      workers.emplace_back([&, w] {
        for (int i = 0; i < per_thread; ++i) {
          const std::string id = "t" + std::to_string(w) + "-r" + std::to_string(i);
          bool ok = t.submitted(id, submission("user" + std::to_string(w))).ok();
          ok = ok && t.queued(id, i).ok();
          ok = ok && t.started(id, "gpu-" + std::to_string(w)).ok();
          if (i % 10 == 3)
            ok = ok && t.failed(id, "oom", 1).ok();
          else
            ok = ok && t.completed(id, std::vector<std::string>{png}).ok();
          if (i % 25 == 0) ok = ok && t.completed(id, std::vector<std::string>{png}).ok();  // an anomaly
          if (!ok) failures.fetch_add(1);
        }
      });
    for (std::thread& th : workers) th.join();
    stop = true;
    reader.join();
    CHECK(failures.load() == 0);
    const fa::TrackerStats st = t.stats();
    CHECK(st.active == 0);
    CHECK(st.finished == 0);
    CHECK(st.sink_errors == 0);
    CHECK(st.anomalies == static_cast<std::uint64_t>(threads * ((per_thread + 24) / 25)));
  }
  REQUIRE(logger->close().ok());
  const fa::VerifySummary v = fa_test::verify(log_dir);
  INFO(fa_test::describe(v));
  REQUIRE(v.intact);

  std::map<std::string, std::vector<std::string>> seq;
  for (const json& e : fa_test::user_events(fa_test::read_records(log_dir)))
    seq[e.at("request_id").get<std::string>()].push_back(e.at("event_type").get<std::string>());
  REQUIRE(seq.size() == static_cast<std::size_t>(threads * per_thread));
  for (int w = 0; w < threads; ++w)
    for (int i = 0; i < per_thread; ++i) {
      const std::string id = "t" + std::to_string(w) + "-r" + std::to_string(i);
      INFO(id);
      std::vector<std::string> want = {"generation.submitted", "generation.queued", "generation.started"};
      if (i % 10 == 3) {
        want.push_back("generation.failed");
      } else {
        want.push_back("generation.completed");
        want.push_back("image_generation");
      }
      if (i % 25 == 0) want.push_back("generation.anomaly");
      CHECK(seq.at(id) == want);
    }
}
