// SPDX-License-Identifier: Apache-2.0
#pragma once
// Internal to libfooocus_audit_c: the events fa_logger_log and fa_logger_log_marshal receive, decoded into one
// small intermediate form (EventTree), then logged through AuditLogger::log(const GenerationEvent&) when the event
// is exactly the library's image_generation event, else through AuditLogger::log(const nlohmann::json&). Both
// give the same record bytes (tests/test_capi_event.cpp).
//
// Front ends:
//  - JSON text: a strict single-pass parser for the common case; whatever it does not take (any error, a byte
//    order mark, more than kMaxTreeValues values, a float it cannot read exactly as strtod does) goes to the
//    reference parser of capi_json.cpp, which decides and words every error as it always did.
//  - Python's marshal format, version 4 (docs/c-api.md §5.3): dict (str keys), list, tuple, str, int, float,
//    True, False, None, with back references; anything else is refused (invalid_argument), never a crash.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fooocus_audit/common.hpp"

namespace fooocus_audit {
class AuditLogger;
struct GenerationEvent;
}  // namespace fooocus_audit

namespace fooocus_audit::capi {

/// Values a marshal event's back references may repeat (a reference to a container repeats each value in it): a
/// few bytes of references must not stand for gigabytes of tree. Python writes a reference for an object used
/// twice in an event; a real event repeats far fewer values.
inline constexpr std::size_t kMaxReferencedValues = std::size_t{1} << 20;
/// Values (nodes) a decoded event may hold: each takes at least 2 bytes of canonical JSON ("0,"), so an event
/// with more is above the 16 MiB record limit whatever its content.
inline constexpr std::size_t kMaxTreeValues = std::size_t{1} << 23;
/// Bytes of strings (values and member names, references counted at each use) a marshal event may hold: more
/// cannot fit in a 16 MiB record either.
inline constexpr std::size_t kMaxTreeStringBytes = 16u * 1024u * 1024u;

/// A decoded event: nodes in pre-order, in one vector. A container's children follow it; `end` is the index
/// one past its subtree (so the next sibling). Strings are views into the input or into `decoded`.
class EventTree {
 public:
  enum class Kind : std::uint8_t { null, boolean, integer, unsigned_integer, floating, string, array, object };
  struct Node {
    Kind kind = Kind::null;
    bool flag = false;             ///< a boolean's value
    std::uint16_t height = 0;      ///< containers: levels of nesting in this subtree (1 = no nested container)
    std::uint32_t size = 0;        ///< containers: number of children; strings: length in bytes
    std::uint32_t end = 0;         ///< index one past this subtree
    std::uint32_t key_size = 0;    ///< members of an object: the name's length
    const char* key = nullptr;     ///< members of an object: the name
    union {
      std::int64_t i;
      std::uint64_t u;
      double d;
      const char* s;  ///< strings: the bytes (UTF-8, validated)
    } v{};

    std::string_view name() const noexcept { return {key, key_size}; }
    std::string_view text() const noexcept { return {v.s, size}; }
  };

  void clear();
  bool empty() const noexcept { return nodes.empty(); }
  const Node& root() const { return nodes.front(); }
  /// The member `name` of the object at index `obj`, or npos.
  std::size_t find(std::size_t obj, std::string_view name) const noexcept;

  /// A marshal back reference (FLAG_REF): an object still open (a container being read), a node, or a str (which
  /// may also be a dict key, and so is not always a node).
  struct Ref {
    enum class State : std::uint8_t { open, node, string } state = State::open;
    std::uint32_t node = 0;
    std::uint32_t size = 0;
    const char* s = nullptr;
  };

  std::vector<Node> nodes;
  std::deque<std::string> decoded;  ///< strings that are not bytes of the input (JSON escapes); never relocated
  std::vector<Ref> refs;            ///< the marshal reader's references (here for their capacity)
};

/// The strict fast parser: true when `text` is one JSON object it read completely (the tree then equals what
/// parse_json_object would give), false for anything else (the caller asks parse_json_object, which words the
/// error). The bytes must outlive the tree.
bool decode_json_fast(std::string_view text, EventTree* out);

/// Decodes Python marshal data (version 4) holding one dict. Errors: invalid_argument (what is wrong and the
/// byte offset, never the data), too_large (more than kMaxJsonBytes of input, kMaxTreeValues values or
/// kMaxTreeStringBytes of strings). The bytes must outlive the tree.
Status decode_marshal(const void* data, std::size_t len, EventTree* out);

/// The tree as a JSON value (what the reference parser gives for the same JSON text).
nlohmann::json tree_to_json(const EventTree& tree);

/// Fills `g` when the tree is exactly an image_generation event of GenerationEvent's shape: every member present,
/// none other, each of its type (strings, booleans, integers within +-(2^53-1) where the struct has integers, a
/// seed within 0..2^53-1, floats where it has doubles). Otherwise false (log the tree as JSON).
bool tree_to_generation_event(const EventTree& tree, GenerationEvent* g);

enum class Backend { automatic, json_only };

/// Logs a decoded event: the typed path when tree_to_generation_event() takes it (and `backend` allows),
/// else log(json). Same record bytes and same status either way.
Status log_tree(AuditLogger& logger, const EventTree& tree, Backend backend = Backend::automatic);

/// fa_logger_log: the fast parser, else the reference parser and log(json).
Status log_json_text(AuditLogger& logger, const char* data, std::size_t len);

/// fa_logger_log_marshal.
Status log_marshal(AuditLogger& logger, const void* data, std::size_t len);

/// fa_event_marshal_to_json: the decoded event as JSON text.
Status marshal_to_json_text(const void* data, std::size_t len, std::string* out);

}  // namespace fooocus_audit::capi
