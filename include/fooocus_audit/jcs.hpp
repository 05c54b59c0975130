// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file jcs.hpp
/// RFC 8785 JSON Canonicalization Scheme (JCS) restricted to I-JSON (RFC 7493): a writer for nlohmann
/// values and a strict, allocation-free validator of canonical text. The writer and the validator agree
/// exactly: `scan_object` accepts a byte string if and only if `serialize` produces it for some value
/// (given the same depth limit).
///
/// Policy beyond RFC 8785, from docs/log-format.md §2.1:
/// - every string and member name must be valid UTF-8 (no overlongs, no surrogate code points);
/// - a number whose canonical text is an integer must lie in [-(2^53-1), 2^53-1]; larger values must be
///   carried as strings. (Doubles of 1e21 and above are written in exponent form and are not integers.)
/// - nesting deeper than `default_max_depth` (the top-level value is depth 1) is refused.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fooocus_audit/common.hpp"

namespace fooocus_audit {
namespace jcs {

/// Largest integer magnitude allowed in canonical text: 2^53 - 1 (I-JSON).
inline constexpr std::int64_t max_safe_integer = (std::int64_t{1} << 53) - 1;
/// Nesting depth that `append` refuses to exceed and `scan_object` accepts by default.
inline constexpr std::size_t default_max_depth = 64;
/// Hard cap of `scan_object`'s depth limit (the size of its fixed, on-stack nesting stack).
inline constexpr std::size_t max_depth_limit = 256;

/// A value that has no canonical form. what() is "<path>: <reason>", or just the reason when the path is
/// empty; the reason never quotes string contents.
class Error : public std::runtime_error {
 public:
  Error(std::string path, std::string what);
  /// JSON Pointer (RFC 6901) of the offending value, "" for the root or for primitive-level calls.
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

/// Appends the canonical form of v to out.
/// Throws Error (naming the JSON Pointer path of the offending value) for: NaN or infinite numbers;
/// invalid UTF-8 in a string or member name; integers, and integral doubles below 1e21, outside
/// [-(2^53-1), 2^53-1] (the message says to encode them as strings); binary and discarded values;
/// nesting deeper than `default_max_depth`.
/// On error, out may hold a partial result; the caller discards it.
void append(std::string& out, const nlohmann::json& v);

/// The canonical form of v. Throws Error as `append`.
std::string serialize(const nlohmann::json& v);

/// Appends a JSON string literal with JCS escaping: \" \\ \b \f \n \r \t, \u00xx (lowercase hex) for the
/// other code points below U+0020, everything else as raw UTF-8 (U+007F and U+2028 included).
/// Throws Error (empty path) when utf8 is not valid UTF-8: overlong forms, surrogates U+D800..U+DFFF,
/// code points above U+10FFFF, stray continuation bytes or truncated sequences. On error out is unchanged.
void append_string(std::string& out, std::string_view utf8);

/// Appends ECMAScript Number::toString(v) (ES6 7.1.12.1), as JCS requires: "0" for both zeros, the
/// shortest digits that round-trip, plain notation for 1e-6 <= |v| < 1e21, else d[.ddd]e±n.
/// Throws Error (empty path) for NaN and infinities, and for integral values with
/// 2^53 <= |v| < 1e21, whose plain-integer form I-JSON bounds (encode those as strings). On error out
/// is unchanged.
void append_number(std::string& out, double v);

/// ECMAScript Number::toString(v) for every finite double, without the I-JSON bound of `append_number`
/// (2^53 gives "9007199254740992"). For diagnostics and conformance tests; records use append_number.
/// Throws Error (empty path) for NaN and infinities.
std::string number_to_string(double v);

/// Appends the decimal form of v. Throws Error (empty path) when |v| > 2^53-1.
void append_integer(std::string& out, std::int64_t v);

/// JCS member order: compares the UTF-16 code units of two UTF-8 strings. It differs from byte order
/// only when a supplementary character (4-byte UTF-8) meets one of U+E000..U+FFFF. Invalid UTF-8 is
/// ordered consistently but meaninglessly.
bool key_less(std::string_view a, std::string_view b) noexcept;

/// Why `scan_object` rejected a text.
enum class Problem {
  none,
  syntax,                ///< not JSON, or not an object at the top level
  invalid_utf8,          ///< a string or member name is not valid UTF-8
  non_canonical_string,  ///< a string spelled other than `append_string` spells it
  non_canonical_number,  ///< a number spelled other than JCS spells it ("1.0", "1E5", "-0", ...)
  key_order,             ///< member names not in increasing UTF-16 order
  duplicate_key,         ///< the same member name twice in one object
  depth,                 ///< nesting deeper than the limit
  trailing_data,         ///< bytes after the top-level object
  number_range,          ///< an integer outside [-(2^53-1), 2^53-1], or a number beyond double range
};

/// A top-level member as it appears in the text.
struct Member {
  std::string_view key;    ///< raw bytes between the quotes (escapes left as written)
  std::string_view value;  ///< raw bytes of the value
};

struct ScanResult {
  Problem problem = Problem::none;
  std::size_t offset = 0;         ///< byte offset where the problem was found (0 when none)
  std::size_t members = 0;        ///< top-level members written to the caller's array (<= max_members)
  std::size_t total_members = 0;  ///< top-level members in the object (meaningful when problem is none)
  explicit operator bool() const noexcept { return problem == Problem::none; }
};

/// Validates that text is exactly the canonical JCS form of a JSON object (no whitespace, canonical
/// strings and numbers, strictly increasing member names at every level, no trailing bytes) and writes
/// its first max_members top-level members, in order, to members (which may be null when max_members
/// is 0). Nesting deeper than max_depth (the object itself is depth 1; values above `max_depth_limit`
/// act as `max_depth_limit`) is Problem::depth.
/// Any `\u` escape other than the lowercase \u00xx form of a control character without a short escape is
/// non_canonical_string: JCS output never contains one, so escaped surrogates ("\ud800") are rejected
/// without being decoded. One pass, no allocation, no recursion; thread-safe.
ScanResult scan_object(std::string_view text, Member* members, std::size_t max_members,
                       std::size_t max_depth = default_max_depth) noexcept;

/// "none", "syntax", "invalid_utf8", ...
std::string_view problem_name(Problem p) noexcept;

}  // namespace jcs
}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/jcs-inl.hpp"
#endif
