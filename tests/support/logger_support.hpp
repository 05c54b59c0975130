// SPDX-License-Identifier: Apache-2.0
#pragma once
// Helpers shared by the logger, crash and concurrency tests: temporary directories, reading a log back
// record by record, and small file utilities. No Catch2 here, so a forked child can use them too.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>
#include <functional>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/detail/segment_store.hpp"
#include "describe.hpp"
#include "files.hpp"

namespace fa_test {

/// A wall clock for LoggerOptions::clock_micros that blocks while *hold is true. The writer reads the clock
/// when it seals a record, so holding the clock holds the writer and lets a test fill the queue.
inline std::function<std::int64_t()> holdable_clock(std::shared_ptr<std::atomic<bool>> hold) {
  return [hold = std::move(hold)] {
    while (hold->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  };
}

/// Opens a logger or fails the current test case with the reason.
inline std::unique_ptr<fooocus_audit::AuditLogger> must_open(fooocus_audit::LoggerOptions o) {
  auto r = fooocus_audit::AuditLogger::open(std::move(o));
  INFO(r.status().to_string());
  REQUIRE(r.ok());
  return std::move(r).value();
}

/// True when the tests run under ThreadSanitizer (which makes them several times slower).
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderTsan = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kUnderTsan = true;
#else
inline constexpr bool kUnderTsan = false;
#endif
#else
inline constexpr bool kUnderTsan = false;
#endif

/// Segments of a log directory, in order (throws on error).
inline std::vector<fooocus_audit::detail::SegmentInfo> segments(const std::string& dir) {
  auto r = fooocus_audit::detail::list_segments(dir);
  if (!r) throw std::runtime_error(r.status().to_string());
  return r.value();
}

/// The lines of a segment file without their LF. A final fragment without LF is returned too.
inline std::vector<std::string> split_lines(std::string_view bytes) {
  std::vector<std::string> out;
  std::size_t off = 0;
  while (off < bytes.size()) {
    const std::size_t nl = bytes.find('\n', off);
    if (nl == std::string_view::npos) {
      out.emplace_back(bytes.substr(off));
      break;
    }
    out.emplace_back(bytes.substr(off, nl - off));
    off = nl + 1;
  }
  return out;
}

/// One record read back from a log directory.
struct ReadRecord {
  std::string segment;  ///< file name
  std::string line;     ///< record bytes without LF
  nlohmann::json value;
};

/// Every record of every segment, in log order, parsed with nlohmann (throws on a line that is not JSON).
inline std::vector<ReadRecord> read_records(const std::string& dir) {
  std::vector<ReadRecord> out;
  for (const auto& seg : segments(dir))
    for (std::string& line : split_lines(read_bytes(seg.path))) {
      nlohmann::json v = nlohmann::json::parse(line);
      out.push_back({seg.name, std::move(line), std::move(v)});
    }
  return out;
}

/// Records whose event_type does not start with "log." (the caller's events).
inline std::vector<nlohmann::json> user_events(const std::vector<ReadRecord>& records) {
  std::vector<nlohmann::json> out;
  for (const ReadRecord& r : records)
    if (r.value["event"]["event_type"].get<std::string>().rfind("log.", 0) != 0)
      out.push_back(r.value["event"]);
  return out;
}

/// Records of one system event_type ("log.opened", ...).
inline std::vector<ReadRecord> system_records(const std::vector<ReadRecord>& records, std::string_view type) {
  std::vector<ReadRecord> out;
  for (const ReadRecord& r : records)
    if (r.value["event"]["event_type"] == type) out.push_back(r);
  return out;
}

/// Runs the ChainVerifier over a log directory (throws when it cannot run).
inline fooocus_audit::VerifySummary verify(const std::string& dir,
                                           std::optional<fooocus_audit::Anchor> anchor = std::nullopt) {
  fooocus_audit::VerifyOptions opt;
  opt.anchor = std::move(anchor);
  fooocus_audit::ChainVerifier v(opt);
  auto r = v.verify_path(dir);
  if (!r) throw std::runtime_error("verifier could not run: " + r.status().to_string());
  return r.value();
}


/// Options for a test log in `dir`: defaults, except a short group-commit interval.
inline fooocus_audit::LoggerOptions options_for(const std::string& dir) {
  fooocus_audit::LoggerOptions o;
  o.dir = dir;
  o.group_commit_interval = std::chrono::milliseconds(2);
  return o;
}

/// A GenerationEvent whose request_id identifies it.
inline fooocus_audit::GenerationEvent generation_event(const std::string& request_id,
                                                       std::size_t prompt_len = 40) {
  fooocus_audit::GenerationEvent e;
  e.timestamp = "2026-03-25T14:30:45.123456Z";
  e.request_id = request_id;
  e.user_id = "user_7";
  e.tenant_id = "tenant_a";
  e.session_id = "sess_1";
  e.ip_address = "203.0.113.7";
  e.user_agent = "Mozilla/5.0 (X11; Linux x86_64)";
  e.request.prompt_sanitized = std::string(prompt_len, 'p') + " caf\xc3\xa9 \xe2\x9c\x93";
  e.request.prompt_hash = "sha256:" + std::string(64, 'a');
  e.request.negative_prompt = "blurry";
  e.request.performance = "Speed";
  e.request.aspect_ratio = "1024x1024";
  e.request.num_images = 2;
  e.request.seed = 1234567;
  e.request.loras = {{"sd_xl_offset_example-lora_1.0", 0.1}};
  e.request.styles = {"Fooocus V2", "Fooocus Enhance"};
  e.processing.worker_id = "gpu-0";
  e.processing.queue_wait_ms = 12;
  e.processing.generation_duration_ms = 4321;
  e.processing.model_version = "juggernautXL_v8Rundiffusion";
  e.outputs = {{"https://example.invalid/1.png", "sha256:" + std::string(64, 'b'), 1024, 1024, 1500000}};
  e.safety.safety_checker_version = "1.0";
  return e;
}

}  // namespace fa_test
