// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file generation_event.hpp
/// The library's own generation event in the shape of the seed article's §2.2 example, with a fast
/// serializer that writes its RFC 8785 canonical form directly (no JSON tree). `to_json()` gives the same
/// value as a tree; a test pins `append_canonical(x) == jcs::serialize(x.to_json())`.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fooocus_audit/common.hpp"

namespace fooocus_audit {

struct GenerationEvent {
  struct Lora {
    std::string name;
    double weight = 1.0;
  };
  struct Request {
    std::string prompt_sanitized;
    std::string prompt_hash;
    std::string negative_prompt;
    std::string performance;   ///< "Speed", "Quality", "Extreme Speed", "Lightning", "Hyper-SD"
    std::string aspect_ratio;  ///< "1024x1024"
    std::int64_t num_images = 1;
    std::uint64_t seed = 0;    ///< written as a number up to 2^53-1, as a decimal string above (I-JSON)
    std::vector<Lora> loras;
    std::vector<std::string> styles;
    double guidance_scale = 4.0;
    double sharpness = 2.0;
    bool enable_safety_checker = true;
  };
  struct Processing {
    std::string worker_id;
    std::int64_t queue_wait_ms = 0;
    std::int64_t generation_duration_ms = 0;
    std::int64_t retry_count = 0;
    std::string model_version;
    std::string refiner_model;
  };
  struct Output {
    std::string url;
    std::string hash;  ///< "sha256:<hex>" of the file
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::int64_t file_size_bytes = 0;
  };
  struct Safety {
    bool has_nsfw_concepts = false;
    std::string safety_checker_version;
  };

  /// Not an aggregate on purpose: `logger.log({{"event_type", ...}})` must mean a JSON event.
  explicit GenerationEvent() = default;

  std::string event_type = "image_generation";
  std::string version = "1.0";
  std::string timestamp;  ///< the caller's own time stamp (the record's sealed `ts` is authoritative)
  std::string request_id;
  std::string user_id;
  std::string tenant_id;
  std::string session_id;
  std::string ip_address;
  std::string user_agent;
  Request request;
  Processing processing;
  std::vector<Output> outputs;
  Safety safety;
  std::string result = "success";

  /// Appends the JCS bytes of this event. Throws jcs::Error on invalid UTF-8, a non-finite double or an
  /// integer outside +-(2^53-1).
  void append_canonical(std::string& out) const;
  /// The same event as a JSON tree.
  nlohmann::json to_json() const;
};

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/generation_event-inl.hpp"
#endif
