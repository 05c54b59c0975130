// SPDX-License-Identifier: Apache-2.0
// Strict JSON and text input of the C ABI (capi_json.hpp).

#include "capi_json.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "fooocus_audit/secret_guard.hpp"

namespace fooocus_audit::capi {

using nlohmann::json;

std::size_t first_invalid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte (RFC 3629 §4)
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      return i;  // continuation byte, overlong lead (C0, C1) or F5..FF
    }
    if (i + len > n) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    i += len;
  }
  return std::string_view::npos;
}

Status read_text(const char* data, std::size_t len, std::string_view what, std::string* out) {
  if (data == nullptr) {
    if (len != 0) return {Code::invalid_argument, fmt::format("{}: NULL pointer with length {}", what, len)};
    out->clear();
    return Status::OK();
  }
  if (len > kMaxTextBytes)
    return {Code::too_large, fmt::format("{}: {} bytes, more than the limit of {}", what, len, kMaxTextBytes)};
  const std::string_view text(data, len);
  if (const std::size_t bad = first_invalid_utf8(text); bad != std::string_view::npos)
    return {Code::invalid_argument, fmt::format("{}: invalid UTF-8 at byte {}", what, bad)};
  out->assign(text);
  return Status::OK();
}

std::string printable_name(std::string_view name) {
  const bool plain = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
  if (!plain) return {};
  // A member name can be a pasted secret too (the guard redacts names as well): never echo one that looks like it.
  std::string copy(name);
  if (guard_redact(copy, GuardOptions{}) != 0) return {};
  return copy;
}

namespace {

// What the linear pre-scan found: the offset of the first raw NUL byte, or of the first '[' or '{' (outside
// strings) that opens level kMaxJsonDepth + 1.
struct Scan {
  enum class Problem { none, nul, too_deep } problem = Problem::none;
  std::size_t at = 0;
};

// String-aware (a bracket inside a string, or after a backslash in one, does not count). A raw NUL byte is never
// valid JSON, but nlohmann's lexer takes it for the end of the input and would accept "{}\0anything".
Scan prescan(std::string_view s) noexcept {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\0') return {Scan::Problem::nul, i};
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > kMaxJsonDepth) return {Scan::Problem::too_deep, i};
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
  return {};
}

// Builds the DOM from nlohmann's (iterative) SAX parser, refusing duplicate members and, as a second line of
// defence behind prescan(), nesting deeper than kMaxJsonDepth.
class DomBuilder {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  bool null() { return put(json(nullptr)); }
  bool boolean(bool v) { return put(json(v)); }
  bool number_integer(number_integer_t v) { return put(json(v)); }
  bool number_unsigned(number_unsigned_t v) { return put(json(v)); }
  bool number_float(number_float_t v, const string_t& /*text*/) { return put(json(v)); }
  bool string(string_t& v) { return put(json(std::move(v))); }
  bool binary(binary_t& /*v*/) { return fail("binary values are not JSON"); }
  bool start_object(std::size_t /*n*/) { return open(json::object()); }
  bool key(string_t& k) {
    json* obj = stack_.back();
    if (obj->contains(k)) {
      const std::string name = printable_name(k);
      return fail(name.empty() ? std::string("duplicate member") : fmt::format("duplicate member \"{}\"", name));
    }
    key_ = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t /*n*/) { return open(json::array()); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t position, const std::string& /*last_token*/, const nlohmann::detail::exception& ex) {
    // nlohmann's message quotes the input after "; last read: '": keep only the part before it.
    // The out_of_range.406 message quotes the number ("number overflow parsing '<digits>'"): replaced as a whole.
    std::string_view what = ex.what();
    if (const auto p = what.find("syntax error"); p != std::string_view::npos) what.remove_prefix(p);
    if (const auto p = what.find("; last read:"); p != std::string_view::npos) what = what.substr(0, p);
    if (what.find("number overflow") != std::string_view::npos) what = "a number out of the range of a double";
    error_ = fmt::format("invalid JSON near byte {}: {}", position > 0 ? position - 1 : 0, what);
    return false;
  }

  json& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  bool fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }
  // Places v where the parser is (root, array element or the pending member) and returns where it went.
  json* place(json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    json* top = stack_.back();
    if (top->is_array()) {
      top->push_back(std::move(v));
      return &top->back();
    }
    json& slot = (*top)[key_];
    slot = std::move(v);
    return &slot;
  }
  bool put(json&& v) {
    place(std::move(v));
    return true;
  }
  bool open(json&& container) {
    if (stack_.size() >= kMaxJsonDepth) return fail(fmt::format("nested deeper than {} levels", kMaxJsonDepth));
    stack_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }

  json root_;
  std::vector<json*> stack_;  // open containers; a child is open only while its parent is not modified
  std::string key_;
  std::string error_;
};

}  // namespace

Status parse_json_object(const char* data, std::size_t len, std::string_view what, json* out) {
  if (data == nullptr && len != 0)
    return {Code::invalid_argument, fmt::format("{}: NULL pointer with length {}", what, len)};
  if (len > kMaxJsonBytes)
    return {Code::too_large, fmt::format("{}: {} bytes, more than the limit of {}", what, len, kMaxJsonBytes)};
  const std::string_view text(data == nullptr ? "" : data, len);
  if (const std::size_t bad = first_invalid_utf8(text); bad != std::string_view::npos)
    return {Code::invalid_argument, fmt::format("{}: invalid UTF-8 at byte {}", what, bad)};
  if (const Scan scan = prescan(text); scan.problem == Scan::Problem::nul)
    return {Code::invalid_argument,
            fmt::format("{}: invalid JSON: a raw NUL byte at byte {} (inside a string write \\u0000)", what, scan.at)};
  else if (scan.problem == Scan::Problem::too_deep)
    return {Code::invalid_argument,
            fmt::format("{}: nested deeper than {} levels at byte {}", what, kMaxJsonDepth, scan.at)};
  DomBuilder builder;
  // Iterators, not a pointer: a NUL byte must not end the input.
  const bool parsed = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json,
                                      /*strict=*/true, /*ignore_comments=*/false);
  if (!parsed) {
    return {Code::invalid_argument,
            fmt::format("{}: {}", what, builder.error().empty() ? std::string("invalid JSON") : builder.error())};
  }
  json& root = builder.root();
  if (!root.is_object()) {
    const char* kind = root.is_array() ? "an array" : root.is_string() ? "a string"
                       : root.is_number()                           ? "a number"
                       : root.is_boolean()                          ? "a boolean"
                                                                    : "null";
    return {Code::invalid_argument, fmt::format("{}: must be a JSON object, not {}", what, kind)};
  }
  *out = std::move(root);
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------------------------
// Members

Members::Members(const json& obj, std::string what) : obj_(obj), what_(std::move(what)) {}

std::string Members::where(std::string_view key) const { return fmt::format("{}.{}", what_, key); }

void Members::fail(std::string_view key, std::string_view problem) {
  if (status_.ok()) status_ = Status(Code::invalid_argument, fmt::format("{}: {}", where(key), problem));
}

void Members::fail(const Status& s) {
  if (status_.ok() && !s.ok()) status_ = s;
}

const json* Members::get(std::string_view key) {
  known_.push_back(key);
  const auto it = obj_.find(key);
  return it == obj_.end() ? nullptr : &*it;
}

bool Members::str(std::string_view key, std::string* out, bool required) {
  const json* v = get(key);
  if (v == nullptr) {
    if (required) fail(key, "is required");
    return false;
  }
  if (!v->is_string()) {
    fail(key, "must be a string");
    return false;
  }
  *out = v->get_ref<const std::string&>();
  return true;
}

bool Members::file(std::string_view key, std::string* out, bool required) {
  std::string s;
  if (!str(key, &s, required)) return false;
  if (s.find('\0') != std::string::npos) {
    fail(key, "must not contain a NUL byte");
    return false;
  }
  *out = std::move(s);
  return true;
}

bool Members::u64(std::string_view key, std::uint64_t* out, std::uint64_t max) {
  const json* v = get(key);
  if (v == nullptr) return false;
  std::uint64_t n = 0;
  if (v->is_number_unsigned()) n = v->get<std::uint64_t>();
  else if (v->is_number_integer() && v->get<std::int64_t>() >= 0) n = static_cast<std::uint64_t>(v->get<std::int64_t>());
  else {
    fail(key, "must be a non-negative integer");
    return false;
  }
  if (n > max) {
    fail(key, fmt::format("must be at most {}", max));
    return false;
  }
  *out = n;
  return true;
}

bool Members::i64(std::string_view key, std::int64_t* out, std::int64_t min, std::int64_t max) {
  const json* v = get(key);
  if (v == nullptr) return false;
  std::int64_t n = 0;
  if (v->is_number_unsigned()) {
    if (v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      fail(key, fmt::format("must be at most {}", max));
      return false;
    }
    n = static_cast<std::int64_t>(v->get<std::uint64_t>());
  } else if (v->is_number_integer()) {
    n = v->get<std::int64_t>();
  } else {
    fail(key, "must be an integer");
    return false;
  }
  if (n < min || n > max) {
    fail(key, fmt::format("must be in {}..{}", min, max));
    return false;
  }
  *out = n;
  return true;
}

bool Members::number(std::string_view key, double* out) {
  const json* v = get(key);
  if (v == nullptr) return false;
  if (!v->is_number() || !std::isfinite(v->get<double>())) {
    fail(key, "must be a finite number");
    return false;
  }
  *out = v->get<double>();
  return true;
}

bool Members::boolean(std::string_view key, bool* out) {
  const json* v = get(key);
  if (v == nullptr) return false;
  if (!v->is_boolean()) {
    fail(key, "must be true or false");
    return false;
  }
  *out = v->get<bool>();
  return true;
}

const json* Members::object(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    fail(key, "must be a JSON object");
    return nullptr;
  }
  return v;
}

const json* Members::array(std::string_view key) {
  const json* v = get(key);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    fail(key, "must be an array");
    return nullptr;
  }
  return v;
}

bool Members::str_list(std::string_view key, std::vector<std::string>* out) {
  const json* v = array(key);
  if (v == nullptr) return false;
  std::vector<std::string> list;
  for (const json& e : *v) {
    if (!e.is_string() || e.get_ref<const std::string&>().find('\0') != std::string::npos) {
      fail(key, "must be an array of strings (without NUL bytes)");
      return false;
    }
    list.push_back(e.get<std::string>());
  }
  *out = std::move(list);
  return true;
}

Status Members::finish() {
  if (!status_.ok()) return status_;
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    const std::string& k = it.key();
    if (std::find(known_.begin(), known_.end(), std::string_view(k)) == known_.end()) {
      const std::string name = printable_name(k);
      return {Code::invalid_argument, name.empty() ? fmt::format("{}: unknown member", what_)
                                                   : fmt::format("{}: unknown member \"{}\"", what_, name)};
    }
  }
  return Status::OK();
}

}  // namespace fooocus_audit::capi
