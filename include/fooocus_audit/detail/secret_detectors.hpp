// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file detail/secret_detectors.hpp
/// The built-in secret detectors (AWS, GitHub, GitLab, Slack, OpenAI, Anthropic, Stripe, Google API keys,
/// JWTs, PEM private key blocks, credentials in URLs, generic high-entropy values after key words) and the
/// prefilter that lets the secret guard skip ordinary text at memory speed. docs/privacy.md §4 describes each
/// detector, its span and its confidence.

#include <string_view>
#include <vector>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/detect.hpp"

namespace fooocus_audit::detect {

/// Appends every match of the enabled secret detectors (bits outside kSecretDetectors ignored). Matches may
/// overlap; order unspecified. Linear time for any input.
void scan_secrets(std::string_view text, DetectorMask enabled, std::vector<Match>& out);

/// Prefilter: false guarantees scan_secrets(text, kSecretDetectors, ...) finds nothing. Runs at memory speed
/// on ordinary text (prompts, user agents, paths, error messages); true only near a trigger.
bool may_contain_secret(std::string_view text) noexcept;

/// True when `name` (a JSON member name such as "password", "api_key", "clientSecret", "DB_PASSWORD") names a
/// holder of secrets for the generic detector: a key word ends its last identifier component and that
/// component is not a non-secret suffix (key_id, token_count, secret_hash...). Names over 64 bytes: false.
bool is_secret_name(std::string_view name) noexcept;

/// The generic detector applied to the string value of a member called `name`, as if the text were
/// `name=value` (so `{"password": "hunter2"}` is found); spans are relative to `value`. Appends nothing
/// unless is_secret_name(name) and generic_secret is enabled.
void scan_member_value(std::string_view name, std::string_view value, DetectorMask enabled,
                       std::vector<Match>& out);

}  // namespace fooocus_audit::detect

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/detail/secret_detectors-inl.hpp"
#endif
