// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/generation_event.hpp"
#endif

#include <cstring>

#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit {

namespace generation_event_impl {

// Members are written in JCS order by hand; the order is pinned by a test against jcs::serialize.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void open() { out_.push_back('{'); first_ = true; }
  void close() { out_.push_back('}'); first_ = false; }
  // A member name (a literal) with its separator, quotes and colon in one append.
  template <std::size_t N>
  void key(const char (&k)[N]) {
    char buf[N + 3];
    std::size_t n = 0;
    if (!first_) buf[n++] = ',';
    first_ = false;
    buf[n++] = '"';
    std::memcpy(buf + n, k, N - 1);
    n += N - 1;
    buf[n++] = '"';
    buf[n++] = ':';
    out_.append(buf, n);
  }
  template <std::size_t N>
  void str(const char (&k)[N], const std::string& v) { key(k); jcs::append_string(out_, v); }
  template <std::size_t N>
  void integer(const char (&k)[N], std::int64_t v) { key(k); jcs::append_integer(out_, v); }
  template <std::size_t N>
  void number(const char (&k)[N], double v) { key(k); jcs::append_number(out_, v); }
  template <std::size_t N>
  void boolean(const char (&k)[N], bool v) { key(k); out_.append(v ? "true" : "false", v ? 4 : 5); }
  template <std::size_t N>
  void begin_array(const char (&k)[N]) { key(k); out_.push_back('['); first_ = true; }
  void end_array() { out_.push_back(']'); first_ = false; }
  void element() {
    if (!first_) out_.push_back(',');
    first_ = false;
  }
  std::string& out() { return out_; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace generation_event_impl

FA_INLINE void GenerationEvent::append_canonical(std::string& out) const {
  generation_event_impl::Writer w(out);
  w.open();
  w.str("event_type", event_type);
  w.str("ip_address", ip_address);
  w.begin_array("outputs");
  for (const Output& o : outputs) {
    w.element();
    w.open();
    w.integer("file_size_bytes", o.file_size_bytes);
    w.str("hash", o.hash);
    w.integer("height", o.height);
    w.str("url", o.url);
    w.integer("width", o.width);
    w.close();
  }
  w.end_array();
  w.key("processing");
  w.open();
  w.integer("generation_duration_ms", processing.generation_duration_ms);
  w.str("model_version", processing.model_version);
  w.integer("queue_wait_ms", processing.queue_wait_ms);
  w.str("refiner_model", processing.refiner_model);
  w.integer("retry_count", processing.retry_count);
  w.str("worker_id", processing.worker_id);
  w.close();
  w.key("request");
  w.open();
  w.str("aspect_ratio", request.aspect_ratio);
  w.boolean("enable_safety_checker", request.enable_safety_checker);
  w.number("guidance_scale", request.guidance_scale);
  w.begin_array("loras");
  for (const Lora& l : request.loras) {
    w.element();
    w.open();
    w.str("name", l.name);
    w.number("weight", l.weight);
    w.close();
  }
  w.end_array();
  w.str("negative_prompt", request.negative_prompt);
  w.integer("num_images", request.num_images);
  w.str("performance", request.performance);
  w.str("prompt_hash", request.prompt_hash);
  w.str("prompt_sanitized", request.prompt_sanitized);
  if (request.seed <= static_cast<std::uint64_t>(record::kMaxSafeInteger))
    w.integer("seed", static_cast<std::int64_t>(request.seed));
  else
    w.str("seed", std::to_string(request.seed));
  w.number("sharpness", request.sharpness);
  w.begin_array("styles");
  for (const std::string& s : request.styles) {
    w.element();
    jcs::append_string(w.out(), s);
  }
  w.end_array();
  w.close();
  w.str("request_id", request_id);
  w.str("result", result);
  w.key("safety");
  w.open();
  w.boolean("has_nsfw_concepts", safety.has_nsfw_concepts);
  w.str("safety_checker_version", safety.safety_checker_version);
  w.close();
  w.str("session_id", session_id);
  w.str("tenant_id", tenant_id);
  w.str("timestamp", timestamp);
  w.str("user_agent", user_agent);
  w.str("user_id", user_id);
  w.str("version", version);
  w.close();
}

FA_INLINE nlohmann::json GenerationEvent::to_json() const {
  nlohmann::json loras = nlohmann::json::array();
  for (const Lora& l : request.loras) loras.push_back({{"name", l.name}, {"weight", l.weight}});
  nlohmann::json outs = nlohmann::json::array();
  for (const Output& o : outputs)
    outs.push_back({{"url", o.url}, {"hash", o.hash}, {"width", o.width}, {"height", o.height},
                    {"file_size_bytes", o.file_size_bytes}});
  nlohmann::json seed = request.seed <= static_cast<std::uint64_t>(record::kMaxSafeInteger)
                            ? nlohmann::json(static_cast<std::int64_t>(request.seed))
                            : nlohmann::json(std::to_string(request.seed));
  return {
      {"event_type", event_type}, {"version", version}, {"timestamp", timestamp}, {"request_id", request_id},
      {"user_id", user_id}, {"tenant_id", tenant_id}, {"session_id", session_id}, {"ip_address", ip_address},
      {"user_agent", user_agent},
      {"request",
       {{"prompt_sanitized", request.prompt_sanitized}, {"prompt_hash", request.prompt_hash},
        {"negative_prompt", request.negative_prompt}, {"performance", request.performance},
        {"aspect_ratio", request.aspect_ratio}, {"num_images", request.num_images}, {"seed", seed},
        {"loras", loras}, {"styles", request.styles}, {"guidance_scale", request.guidance_scale},
        {"sharpness", request.sharpness}, {"enable_safety_checker", request.enable_safety_checker}}},
      {"processing",
       {{"worker_id", processing.worker_id}, {"queue_wait_ms", processing.queue_wait_ms},
        {"generation_duration_ms", processing.generation_duration_ms}, {"retry_count", processing.retry_count},
        {"model_version", processing.model_version}, {"refiner_model", processing.refiner_model}}},
      {"outputs", outs},
      {"safety", {{"has_nsfw_concepts", safety.has_nsfw_concepts}, {"safety_checker_version", safety.safety_checker_version}}},
      {"result", result}};
}

}  // namespace fooocus_audit
