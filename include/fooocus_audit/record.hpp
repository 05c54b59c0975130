// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file record.hpp
/// The record layout of docs/log-format.md (version 1): pure functions shared by the writer and the
/// verifier. Nothing here touches files or threads.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/crypto.hpp"

namespace fooocus_audit {
namespace record {

inline constexpr int kFormatVersion = 1;
/// Hard limit of the format (§2.1): a line longer than this is never a record.
inline constexpr std::size_t kMaxRecordBytes = 16u * 1024u * 1024u;
inline constexpr std::size_t kLogIdChars = 32;
inline constexpr std::size_t kTimestampChars = 27;  // YYYY-MM-DDTHH:MM:SS.ffffffZ
inline constexpr std::int64_t kMaxSafeInteger = (std::int64_t{1} << 53) - 1;

/// Chain hash of a record = its RFC 6962 leaf hash: SHA-256(0x00 || record bytes).
Hash chain_hash(std::string_view record_bytes);

/// Genesis hash bound to the log id: SHA-256(0x02 || "fooocus-audit/v1/genesis" || 0x00 || log_id).
Hash genesis_hash(std::string_view log_id);

/// A fresh log id: 16 random bytes as 32 lowercase hex characters.
std::string new_log_id();

/// True when s is 32 lowercase hex characters.
bool valid_log_id(std::string_view s) noexcept;

/// True when s is a valid event_type: 1..128 chars of [a-z0-9_.-], first a letter.
bool valid_event_type(std::string_view s) noexcept;

/// Formats microseconds since the Unix epoch (UTC) as YYYY-MM-DDTHH:MM:SS.ffffffZ into out[27].
/// Years outside 0000..9999 are clamped to that range.
void format_timestamp(std::int64_t micros, char out[kTimestampChars]) noexcept;
std::string format_timestamp(std::int64_t micros);

/// Parses the exact 27-character form; false on any deviation (ranges checked, leap years included).
bool parse_timestamp(std::string_view s, std::int64_t* micros) noexcept;

/// A record split where its bytes start to depend on the record before it (docs/log-format.md §2.2 member
/// order): the head `{"event":<event>,"log_id":"<id>","prev":"` and the tail
/// `<prev hex>","seq":<seq>,"ts":"<ts>","v":1}`. A writer may hash the head ahead of time (SHA-256 absorbs
/// its input in order) and finish the chain hash once `prev` is known; append_record is head + tail.
inline constexpr std::string_view kRecordHeadOpen = R"({"event":)";
/// Appends what follows the event in the head: `,"log_id":"<id>","prev":"`.
void append_record_head_close(std::string& out, std::string_view log_id);
/// Appends the tail (see above).
void append_record_tail(std::string& out, const Hash& prev, std::uint64_t seq, std::string_view ts);

/// Appends the canonical bytes of a record (no trailing LF). `event_canonical` must already be the JCS form
/// of a JSON object; `ts` must be a formatted timestamp. Members are emitted in JCS order.
void append_record(std::string& out, std::string_view event_canonical, std::string_view log_id,
                   const Hash& prev, std::uint64_t seq, std::string_view ts);

/// Why a line is not a valid record (reason codes of docs/log-format.md §8.2, steps 3-5).
enum class ParseError { none, bad_json, non_canonical, bad_record, unknown_version };

std::string_view parse_error_name(ParseError e) noexcept;

/// A record parsed in place: views into the line bytes.
struct View {
  std::int64_t version = 0;
  std::string_view log_id;
  std::uint64_t seq = 0;
  std::string_view ts;
  std::int64_t ts_micros = 0;
  Hash prev{};
  std::string_view event;       ///< raw canonical bytes of the event object
  std::string_view event_type;  ///< raw (unescaped-valid) event type
  bool has_mac = false;
  /// The `mac` member (docs/log-format.md §9), when has_mac: its epoch and tag, and the byte range
  /// [mac_begin, mac_end) of `,"mac":{...}` inside the record, which removed leaves the bytes U the tag covers.
  std::uint64_t mac_epoch = 0;
  Hash mac_tag{};
  std::size_t mac_begin = 0, mac_end = 0;
};

struct ParseResult {
  ParseError error = ParseError::none;
  std::size_t offset = 0;  ///< byte offset inside the record where the problem was found
  std::string detail;      ///< human-readable, never contains record contents beyond field names
  explicit operator bool() const noexcept { return error == ParseError::none; }
};

/// Validates one record (without its LF) per §2 and fills `out`. One pass over the bytes.
ParseResult parse(std::string_view bytes, View* out);

}  // namespace record
}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/record-inl.hpp"
#endif
