// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file secret_guard.hpp
/// The secret guard: the secret detectors (detail/secret_detectors.hpp) run over every string of an event,
/// member names included, so that a key pasted into a user agent or an error message never reaches disk.
/// AuditLogger runs it on every event after validation (LoggerOptions::secret_guard, on by default);
/// docs/privacy.md §4 describes the detectors, the labels and the limits.

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/detect.hpp"
#include "fooocus_audit/generation_event.hpp"

namespace fooocus_audit {

struct GuardOptions {
  bool enabled = true;                                     ///< false: the guard neither scans nor changes anything
  detect::DetectorMask detectors = detect::kSecretDetectors;  ///< bits outside kSecretDetectors are ignored
};

/// Replaces every secret found in `s` by "[<TYPE>_REDACTED]" ("[AWS_ACCESS_KEY_REDACTED]"); overlapping
/// matches are merged into one replacement labelled by the longest of them. Returns how many replacements were
/// made; `s` is not touched when there are none. Linear time.
std::size_t guard_redact(std::string& s, const GuardOptions& options);

/// The same over every string value and every member name of `event`, at any depth; the string value of a
/// member whose name names a secret holder ("password", "api_key", "clientSecret") is also checked as if it
/// followed that name (`{"password": "hunter2"}`). A redacted member name that collides with an existing one
/// gets " #2", " #3"... appended. Iterative (no recursion): any depth is safe.
std::size_t guard_redact(nlohmann::json& event, const GuardOptions& options);

/// The same over every string member of a GenerationEvent (prompts, loras, styles, user agent, URLs...).
std::size_t guard_redact(GenerationEvent& event, const GuardOptions& options);

/// False guarantees that guard_redact(event, options) would change nothing; runs only the prefilter
/// (detect::may_contain_secret) and never copies. Fast path of AuditLogger::log.
bool guard_may_redact(const nlohmann::json& event, const GuardOptions& options) noexcept;
bool guard_may_redact(const GenerationEvent& event, const GuardOptions& options) noexcept;

/// The same prefilter over the canonical JSON form of an event (jcs::append, RFC 8785: the bytes AuditLogger
/// logs), in one pass: false guarantees that guard_redact(event, options) would change nothing for the event
/// whose canonical form `canonical_json` is; on canonical input the answer equals guard_may_redact(event,
/// options). Any JSON text may be given (whitespace, any escape): an escape that JCS never writes (`\/`,
/// `\u0041`) answers true. For bytes that are not JSON the answer is unspecified, but the call is safe and
/// linear. No allocation unless a string holding a trigger has escapes. docs/privacy.md §4.5 gives the
/// argument. Fast path of AuditLogger::log(const nlohmann::json&).
bool guard_may_redact_canonical(std::string_view canonical_json, const GuardOptions& options = {}) noexcept;

namespace detail {
/// guard_may_redact_canonical(canonical_json) (default options) with stage 1 16 bytes at a time (SSE2, else a
/// byte loop) whatever the CPU: the reference for the AVX2 stage 1 chosen at run time (tests).
bool guard_may_redact_canonical_portable(std::string_view canonical_json) noexcept;
/// True when guard_may_redact_canonical runs its stage 1 with AVX2 on this CPU.
bool guard_canonical_uses_avx2() noexcept;
}  // namespace detail

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/secret_guard-inl.hpp"
#endif
