// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal to libfooocus_audit_c: strict reading of the JSON and text the C ABI receives (docs/c-api.md §2).
//
// parse_json_object() never recurses: the nesting depth is counted by a SAX handler while nlohmann's iterative
// parser runs, so 100k levels cost a refusal, not the stack. Its messages name the input ("config", "event"),
// a byte offset and a reason, never the input's bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fooocus_audit/common.hpp"

namespace fooocus_audit::capi {

inline constexpr std::size_t kMaxJsonBytes = 64u * 1024u * 1024u;  // FA_MAX_JSON_BYTES
inline constexpr std::size_t kMaxJsonDepth = 64;                    // FA_MAX_JSON_DEPTH
inline constexpr std::size_t kMaxTextBytes = kMaxJsonBytes;         // any other text argument

/// Offset of the first byte of `s` that is not part of well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF), or npos.
std::size_t first_invalid_utf8(std::string_view s) noexcept;

/// A (pointer, length) text argument: NULL with length 0 is "", NULL with a length is refused, the bytes must
/// be UTF-8 and at most kMaxTextBytes. `what` names the argument in messages.
Status read_text(const char* data, std::size_t len, std::string_view what, std::string* out);

/// Parses one JSON object from (data, len): size (too_large), UTF-8, depth, syntax, trailing bytes, duplicate
/// members and "not an object" are refused (invalid_argument). NULL with length 0 is an empty input.
Status parse_json_object(const char* data, std::size_t len, std::string_view what, nlohmann::json* out);

/// A member name as it may appear in a message: identifier-like names verbatim, others (and names the secret
/// guard's detectors flag) not at all.
std::string printable_name(std::string_view name);

/// Reads the members of a JSON object by name and type; the first problem wins and names the member
/// ("config.durability: must be one of none, group_commit, always"); finish() also refuses unknown members.
class Members {
 public:
  /// `obj` must outlive this reader. `what` prefixes messages ("config", "submission.request").
  Members(const nlohmann::json& obj, std::string what);

  /// The member if present (marking it known), else nullptr.
  const nlohmann::json* get(std::string_view key);
  /// Each returns false when the member is absent or on error (check ok()); *out is only set on success.
  bool str(std::string_view key, std::string* out, bool required = false);
  /// A string that names a file: as str(), and without NUL bytes (the operating system would cut it there).
  bool file(std::string_view key, std::string* out, bool required = false);
  bool u64(std::string_view key, std::uint64_t* out, std::uint64_t max = UINT64_MAX);
  bool i64(std::string_view key, std::int64_t* out, std::int64_t min = INT64_MIN, std::int64_t max = INT64_MAX);
  bool number(std::string_view key, double* out);
  bool boolean(std::string_view key, bool* out);
  /// A nested object (for its own Members), or nullptr (absent or error).
  const nlohmann::json* object(std::string_view key);
  /// An array (absent or error: nullptr).
  const nlohmann::json* array(std::string_view key);
  /// An array of strings.
  bool str_list(std::string_view key, std::vector<std::string>* out);

  /// Records an error about `key` (the first one wins).
  void fail(std::string_view key, std::string_view problem);
  /// Records an error with its own status (e.g. from a nested reader); the first one wins.
  void fail(const Status& s);
  bool ok() const noexcept { return status_.ok(); }
  std::string where(std::string_view key) const;
  /// The first error, else an unknown member (invalid_argument), else OK.
  Status finish();

 private:
  const nlohmann::json& obj_;
  std::string what_;
  std::vector<std::string_view> known_;
  Status status_;
};

}  // namespace fooocus_audit::capi
