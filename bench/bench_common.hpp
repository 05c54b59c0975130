// SPDX-License-Identifier: Apache-2.0
#pragma once
// What both benchmarks share: the event they log (the seed article's section 2.2 example generation event,
// about 1.2 KB canonical, with real-looking hash values) and leaving no scratch directory behind on failure.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fooocus_audit/generation_event.hpp"

namespace fa_bench {

// The seed article's §2.2 example generation event.
inline fooocus_audit::GenerationEvent article_event() {
  fooocus_audit::GenerationEvent e;
  e.event_type = "image_generation";
  e.version = "1.0";
  e.timestamp = "2024-01-15T14:30:00.000Z";
  e.request_id = "req_764cabcf-b745-4b3e-ae38-1200304cf45b";
  e.user_id = "alice@enterprise.com";
  e.tenant_id = "acme_corp";
  e.session_id = "sess_abc123def456";
  e.ip_address = "10.2.3.4";
  e.user_agent = "Fooocus-API-client/1.0";
  e.request.prompt_sanitized = "professional product photography, luxury watch on marble surface";
  e.request.prompt_hash = "sha256:c630f4de33836ed2a6c23d695b33f80035594b5b0feaa3b56eab4a5b0b9ce1bb";
  e.request.negative_prompt = "blurry, low resolution, watermark";
  e.request.performance = "Quality";
  e.request.aspect_ratio = "1024x1024";
  e.request.num_images = 1;
  e.request.seed = 176400;
  e.request.loras = {{"brand-style-v2", 0.8}};
  e.request.styles = {"Fooocus Enhance", "Fooocus Sharp"};
  e.request.guidance_scale = 4.0;
  e.request.sharpness = 2.0;
  e.request.enable_safety_checker = true;
  e.processing.worker_id = "gpu-node-5";
  e.processing.queue_wait_ms = 234;
  e.processing.generation_duration_ms = 8542;
  e.processing.retry_count = 0;
  e.processing.model_version = "sd_xl_base_1.0";
  e.processing.refiner_model = "None";
  e.outputs = {{"s3://company-images/generations/acme_corp/req_764cabcf.png",
                "sha256:742b42db2607565a6f33f23f218216a61a3597304c8ac71e3de81b6e68d7b852", 1024, 1024,
                524288}};
  e.safety.has_nsfw_concepts = false;
  e.safety.safety_checker_version = "v2.1";
  e.result = "success";
  return e;
}

/// A directory this program created and must not leave behind if it gives up half-way ("" when none).
inline std::string& scratch_dir() {
  static std::string dir;
  return dir;
}

/// Prints "<program>: <what>", removes the scratch directory, exits with status 2.
[[noreturn]] inline void die(const char* program, const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program, what.c_str());
  if (!scratch_dir().empty()) {
    std::error_code ec;
    std::filesystem::remove_all(scratch_dir(), ec);
  }
  std::exit(2);
}

}  // namespace fa_bench
