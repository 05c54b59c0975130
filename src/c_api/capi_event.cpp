// SPDX-License-Identifier: Apache-2.0
// Events of the C ABI: JSON text and Python marshal data decoded into one EventTree, logged through the typed or
// the JSON path of AuditLogger (capi_event.hpp).

#include "capi_event.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

#include "capi_json.hpp"
#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/generation_event.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit::capi {

using nlohmann::json;
using Node = EventTree::Node;
using NodeKind = EventTree::Kind;

void EventTree::clear() {
  nodes.clear();
  decoded.clear();
  refs.clear();
}

std::size_t EventTree::find(std::size_t obj, std::string_view name) const noexcept {
  const Node& o = nodes[obj];
  std::size_t i = obj + 1;
  for (std::uint32_t k = 0; k < o.size; ++k, i = nodes[i].end)
    if (nodes[i].name() == name) return i;
  return std::string_view::npos;
}

namespace {

// Member names already seen in one object: a scan of the siblings while the object is small, a hash set beyond
// (so that a million members cost n, not n^2). The first duplicate in input order is the one reported.
class KeySet {
 public:
  KeySet(const EventTree& t, std::size_t obj) : t_(t), obj_(obj) {}
  /// False when `name` is a member already (call before appending the member).
  bool insert(std::string_view name) {
    // A 64-bit filter of the names seen: a name whose bit is clear is new without a scan.
    const std::size_t last = name.empty() ? 0 : static_cast<unsigned char>(name.back());
    const std::uint64_t bit = std::uint64_t{1} << ((name.size() * 7 + last * 3) & 63u);
    const bool maybe_seen = (filter_ & bit) != 0;
    filter_ |= bit;
    if (!maybe_seen && !big_) return true;
    if (!big_) {
      const std::uint32_t count = t_.nodes[obj_].size;
      std::size_t i = obj_ + 1;
      for (std::uint32_t k = 0; k < count; ++k, i = t_.nodes[i].end)
        if (t_.nodes[i].name() == name) return false;
      if (count < kScanLimit) return true;
      big_ = std::make_unique<std::unordered_set<std::string_view>>();
      i = obj_ + 1;
      for (std::uint32_t k = 0; k < count; ++k, i = t_.nodes[i].end) big_->insert(t_.nodes[i].name());
    }
    return big_->insert(name).second;
  }

 private:
  static constexpr std::uint32_t kScanLimit = 32;
  const EventTree& t_;
  std::size_t obj_;
  std::uint64_t filter_ = 0;
  std::unique_ptr<std::unordered_set<std::string_view>> big_;
};

// The offset of the first byte above 0x7F, or n: eight bytes at a time.
std::size_t ascii_prefix(const char* p, std::size_t n) noexcept {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ull) break;
  }
  while (i < n && static_cast<unsigned char>(p[i]) < 0x80) ++i;
  return i;
}

void put_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// JSON text: RFC 8259, as strict as nlohmann's parser in strict mode (which decides whatever this one refuses).

class JsonReader {
 public:
  JsonReader(std::string_view text, EventTree& t) : p_(text.data()), end_(text.data() + text.size()), t_(t) {}

  bool run() {
    ws();
    if (p_ == end_ || *p_ != '{') return false;
    if (!value(0, nullptr, 0)) return false;
    ws();
    return p_ == end_;
  }

 private:
  void ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  std::size_t add(NodeKind kind, const char* key, std::uint32_t key_size) {
    const std::size_t i = t_.nodes.size();
    Node& n = t_.nodes.emplace_back();
    n.kind = kind;
    n.key = key;
    n.key_size = key_size;
    n.end = static_cast<std::uint32_t>(i + 1);
    return i;
  }

  // A string at p_ (the opening quote): its bytes, unescaped, as a view that lives as long as the tree.
  bool string(const char** s, std::uint32_t* size) {
    const char* start = ++p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        *s = start;
        *size = static_cast<std::uint32_t>(p_ - start);
        ++p_;
        return true;
      }
      if (c == '\\') break;
      if (c < 0x20) return false;
      ++p_;
    }
    if (p_ == end_) return false;
    std::string out(start, p_);
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        std::string& kept = t_.decoded.emplace_back(std::move(out));
        *s = kept.data();
        *size = static_cast<std::uint32_t>(kept.size());
        return true;
      }
      if (c < 0x20) return false;
      if (c != '\\') {
        out.push_back(static_cast<char>(c));
        ++p_;
        continue;
      }
      if (++p_ == end_) return false;
      switch (*p_++) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate first
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t lo = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            if (!hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          put_utf8(out, cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  bool hex4(std::uint32_t* out) {
    if (end_ - p_ < 4) return false;
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = *p_++;
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
      else return false;
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    *out = v;
    return true;
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  // nlohmann's classification: an integer token is unsigned when it fits uint64 (non-negative) or int64
  // (negative), otherwise (and for every fraction or exponent) a double read by strtod, refused when infinite.
  bool number(std::size_t i) {
    const char* s = p_;
    const bool neg = *p_ == '-';
    if (neg) ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && digit(*p_)) ++p_;
    } else {
      return false;
    }
    bool is_float = false;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
      is_float = true;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
      is_float = true;
    }
    Node& n = t_.nodes[i];
    if (!is_float) {
      std::uint64_t mag = 0;
      bool overflow = false;
      for (const char* d = s + (neg ? 1 : 0); d != p_; ++d) {
        const auto v = static_cast<std::uint64_t>(*d - '0');
        if (mag > (UINT64_MAX - v) / 10) {
          overflow = true;
          break;
        }
        mag = mag * 10 + v;
      }
      if (!overflow && !neg) {
        n.kind = NodeKind::unsigned_integer;
        n.v.u = mag;
        return true;
      }
      if (!overflow && mag <= (std::uint64_t{1} << 63)) {
        n.kind = NodeKind::integer;
        n.v.i = mag == (std::uint64_t{1} << 63) ? INT64_MIN : -static_cast<std::int64_t>(mag);
        return true;
      }
    }
    const std::size_t len = static_cast<std::size_t>(p_ - s);
    char small[64];
    std::string big;
    char* buf = small;
    if (len >= sizeof small) {
      big.assign(s, len);
      buf = big.data();
    } else {
      std::memcpy(small, s, len);
      small[len] = '\0';
    }
    char* stop = nullptr;
    const double d = std::strtod(buf, &stop);
    if (stop != buf + len || !std::isfinite(d)) return false;  // another locale's decimal point, or overflow
    n.kind = NodeKind::floating;
    n.v.d = d;
    return true;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0)
      return false;
    p_ += word.size();
    return true;
  }

  // One value at p_ (whitespace skipped), appended as a node; `parents` containers enclose it.
  bool value(unsigned parents, const char* key, std::uint32_t key_size) {
    if (p_ == end_ || t_.nodes.size() >= kMaxTreeValues) return false;
    const std::size_t i = add(NodeKind::null, key, key_size);
    switch (*p_) {
      case '{': return object(i, parents);
      case '[': return array(i, parents);
      case '"': {
        const char* s = nullptr;
        std::uint32_t size = 0;
        if (!string(&s, &size)) return false;
        Node& n = t_.nodes[i];
        n.kind = NodeKind::string;
        n.v.s = s;
        n.size = size;
        return true;
      }
      case 't':
        t_.nodes[i].kind = NodeKind::boolean;
        t_.nodes[i].flag = true;
        return literal("true");
      case 'f':
        t_.nodes[i].kind = NodeKind::boolean;
        return literal("false");
      case 'n': return literal("null");
      default: return number(i);
    }
  }

  bool object(std::size_t i, unsigned parents) {
    if (parents + 1 > kMaxJsonDepth) return false;
    t_.nodes[i].kind = NodeKind::object;
    ++p_;
    ws();
    std::uint16_t height = 1;
    KeySet keys(t_, i);
    if (p_ != end_ && *p_ == '}') {
      ++p_;
    } else {
      for (;;) {
        if (p_ == end_ || *p_ != '"') return false;
        const char* k = nullptr;
        std::uint32_t k_size = 0;
        if (!string(&k, &k_size) || !keys.insert({k, k_size})) return false;
        ws();
        if (p_ == end_ || *p_ != ':') return false;
        ++p_;
        ws();
        const std::size_t child = t_.nodes.size();
        if (!value(parents + 1, k, k_size)) return false;
        height = std::max<std::uint16_t>(height, static_cast<std::uint16_t>(t_.nodes[child].height + 1));
        ++t_.nodes[i].size;
        ws();
        if (p_ == end_) return false;
        if (*p_ == ',') {
          ++p_;
          ws();
          continue;
        }
        if (*p_ != '}') return false;
        ++p_;
        break;
      }
    }
    t_.nodes[i].height = height;
    t_.nodes[i].end = static_cast<std::uint32_t>(t_.nodes.size());
    return true;
  }

  bool array(std::size_t i, unsigned parents) {
    if (parents + 1 > kMaxJsonDepth) return false;
    t_.nodes[i].kind = NodeKind::array;
    ++p_;
    ws();
    std::uint16_t height = 1;
    if (p_ != end_ && *p_ == ']') {
      ++p_;
    } else {
      for (;;) {
        const std::size_t child = t_.nodes.size();
        if (!value(parents + 1, nullptr, 0)) return false;
        height = std::max<std::uint16_t>(height, static_cast<std::uint16_t>(t_.nodes[child].height + 1));
        ++t_.nodes[i].size;
        ws();
        if (p_ == end_) return false;
        if (*p_ == ',') {
          ++p_;
          ws();
          continue;
        }
        if (*p_ != ']') return false;
        ++p_;
        break;
      }
    }
    t_.nodes[i].height = height;
    t_.nodes[i].end = static_cast<std::uint32_t>(t_.nodes.size());
    return true;
  }

  const char* p_;
  const char* end_;
  EventTree& t_;
};

// ---------------------------------------------------------------------------------------------------------------
// Python marshal, version 4 (CPython's Python/marshal.c): the subset that JSON can express.

class MarshalReader {
 public:
  MarshalReader(const unsigned char* data, std::size_t len, EventTree& t) : p_(data), n_(len), t_(t) {}

  Status run() {
    if (n_ == 0) return {Code::invalid_argument, "event: empty marshal data"};
    if ((p_[0] & 0x7F) != '{') {
      const std::string what = type_name(p_[0] & 0x7F);
      return {Code::invalid_argument,
              fmt::format("event: must be a dict (a JSON object){}", what.empty() ? "" : ", not " + what)};
    }
    if (!value(0, nullptr, 0)) return status_;
    if (pos_ != n_) {
      fail(pos_, fmt::format("{} trailing byte(s) after the dict", n_ - pos_));
      return status_;
    }
    return Status::OK();
  }

 private:
  // What a refused type code holds, for the message.
  static std::string type_name(unsigned code) {
    switch (code) {
      case '{': return "a dict";
      case '[': return "a list";
      case '(':
      case ')': return "a tuple";
      case 'u': case 't': case 'a': case 'A': case 'z': case 'Z': return "a str";
      case 'i': case 'l': return "an int";
      case 'g': return "a float";
      case 'T': case 'F': return "a bool";
      case 'N': return "None";
      case 's': return "bytes (not JSON)";
      case '<': return "a set (not JSON)";
      case '>': return "a frozenset (not JSON)";
      case 'y': case 'x': return "a complex number (not JSON)";
      case 'c': return "a code object (not JSON)";
      case 'S': return "StopIteration (not JSON)";
      case '.': return "Ellipsis (not JSON)";
      case 'f': return "a float in marshal's text form (versions 0 and 1; use version 4)";
      case 'I': return "a 64-bit int of marshal version 0 (use version 4)";
      default: return {};
    }
  }

  using Ref = EventTree::Ref;

  bool fail(std::size_t at, std::string_view why, Code code = Code::invalid_argument) {
    if (status_.ok()) status_ = Status(code, fmt::format("event: invalid marshal data at byte {}: {}", at, why));
    return false;
  }

  bool need(std::size_t at, std::size_t k) {
    if (n_ - pos_ < k) return fail(at, "truncated");
    return true;
  }
  std::uint32_t u32() {
    const std::uint32_t v = static_cast<std::uint32_t>(p_[pos_]) | (static_cast<std::uint32_t>(p_[pos_ + 1]) << 8) |
                            (static_cast<std::uint32_t>(p_[pos_ + 2]) << 16) |
                            (static_cast<std::uint32_t>(p_[pos_ + 3]) << 24);
    pos_ += 4;
    return v;
  }
  // A count (of bytes or of elements, each taking at least one byte): non-negative and not beyond the data.
  bool count(std::size_t at, std::uint32_t* out) {
    if (!need(at, 4)) return false;
    const auto n = static_cast<std::int32_t>(u32());
    if (n < 0) return fail(at, "negative size");
    if (static_cast<std::size_t>(n) > n_ - pos_) return fail(at, "truncated (a size beyond the data)");
    *out = static_cast<std::uint32_t>(n);
    return true;
  }

  bool strings_budget(std::size_t at, std::size_t k) {
    string_bytes_ += k;
    if (string_bytes_ > kMaxTreeStringBytes)
      return fail(at, fmt::format("more than {} bytes of strings (references counted at each use)",
                                  kMaxTreeStringBytes),
                  Code::too_large);
    return true;
  }

  std::size_t add(std::size_t at, NodeKind kind, const char* key, std::uint32_t key_size) {
    if (t_.nodes.size() >= kMaxTreeValues) {
      fail(at, fmt::format("more than {} values", kMaxTreeValues), Code::too_large);
      return std::string_view::npos;
    }
    const std::size_t i = t_.nodes.size();
    Node& n = t_.nodes.emplace_back();
    n.kind = kind;
    n.key = key;
    n.key_size = key_size;
    n.end = static_cast<std::uint32_t>(i + 1);
    return i;
  }

  // A str object at pos_ (type code `code` already read at `at`): its UTF-8 bytes.
  bool str(std::size_t at, unsigned code, const char** s, std::uint32_t* size) {
    std::uint32_t n = 0;
    if (code == 'z' || code == 'Z') {
      if (!need(at, 1)) return false;
      n = p_[pos_++];
      if (n > n_ - pos_) return fail(at, "truncated");
    } else if (!count(at, &n)) {
      return false;
    }
    const char* bytes = reinterpret_cast<const char*>(p_ + pos_);
    if (const std::size_t ascii = ascii_prefix(bytes, n); ascii != n) {
      if (code != 'u' && code != 't')
        return fail(at, fmt::format("a byte above 0x7F in an ASCII string at byte {}", pos_ + ascii));
      if (const std::size_t bad = first_invalid_utf8({bytes + ascii, n - ascii}); bad != std::string_view::npos)
        return fail(at, fmt::format("invalid UTF-8 at byte {}", pos_ + ascii + bad));
    }
    pos_ += n;
    if (!strings_budget(at, n)) return false;
    *s = bytes;
    *size = n;
    return true;
  }

  static bool is_str_code(unsigned code) {
    return code == 'u' || code == 't' || code == 'a' || code == 'A' || code == 'z' || code == 'Z';
  }

  // TYPE_LONG: a sign and 15-bit digits, least significant first. Classified like nlohmann classifies the
  // decimal text of the same integer: uint64 when non-negative and within range, int64 when negative and
  // within range, otherwise the nearest double (strtod rounds to nearest, ties to even); refused when that
  // is infinite (the JSON path refuses "a number out of the range of a double").
  bool long_value(std::size_t at, Node& node) {
    if (!need(at, 4)) return false;
    const auto n = static_cast<std::int32_t>(u32());
    if (n == INT32_MIN) return fail(at, "bad int size");
    const bool neg = n < 0;
    const std::size_t size = static_cast<std::size_t>(neg ? -static_cast<std::int64_t>(n) : n);
    if (size > (n_ - pos_) / 2) return fail(at, "truncated");
    const unsigned char* d = p_ + pos_;
    auto digit = [&](std::size_t k) -> std::uint32_t {
      return static_cast<std::uint32_t>(d[2 * k]) | (static_cast<std::uint32_t>(d[2 * k + 1]) << 8);
    };
    for (std::size_t k = 0; k < size; ++k)
      if (digit(k) > 0x7FFF) return fail(at, "an int digit out of range");
    if (size > 0 && digit(size - 1) == 0) return fail(at, "an int that is not normalized");
    pos_ += 2 * size;
    if (size == 0) {
      node.kind = NodeKind::unsigned_integer;
      node.v.u = 0;
      return true;
    }
    std::size_t top_bits = 0;
    for (std::uint32_t t = digit(size - 1); t != 0; t >>= 1) ++top_bits;
    const std::size_t bits = 15 * (size - 1) + top_bits;
    auto bit = [&](std::size_t k) -> std::uint64_t { return (digit(k / 15) >> (k % 15)) & 1u; };
    if (bits <= 64) {
      std::uint64_t mag = 0;
      for (std::size_t k = bits; k-- > 0;) mag = (mag << 1) | bit(k);
      if (!neg) {
        node.kind = NodeKind::unsigned_integer;
        node.v.u = mag;
        return true;
      }
      if (mag <= (std::uint64_t{1} << 63)) {
        node.kind = NodeKind::integer;
        node.v.i = mag == (std::uint64_t{1} << 63) ? INT64_MIN : -static_cast<std::int64_t>(mag);
        return true;
      }
    }
    if (bits > 1025) return fail(at, "an int out of the range of a double");
    // The top 64 bits, then round to 53 with the rest as a sticky bit.
    std::uint64_t m = 0;
    std::size_t low = bits > 64 ? bits - 64 : 0;
    for (std::size_t k = bits; k-- > low;) m = (m << 1) | bit(k);
    if (bits < 64) m <<= (64 - bits);
    bool sticky = false;
    for (std::size_t k = 0; k < low && !sticky; ++k) sticky = bit(k) != 0;
    std::uint64_t mant = m >> 11;
    const std::uint64_t rest = m & 0x7FF;
    if (rest > 0x400 || (rest == 0x400 && (sticky || (mant & 1)))) ++mant;
    const double v = std::ldexp(static_cast<double>(mant), static_cast<int>(bits) - 53);
    if (!std::isfinite(v)) return fail(at, "an int out of the range of a double");
    node.kind = NodeKind::floating;
    node.v.d = neg ? -v : v;
    return true;
  }

  // A copy of a finished value the reference points to, as a new value under `key`.
  bool copy(std::size_t at, const Ref& r, unsigned parents, const char* key, std::uint32_t key_size) {
    repeated_ += r.state == Ref::State::string ? 1 : t_.nodes[r.node].end - r.node;
    if (repeated_ > kMaxReferencedValues)
      return fail(at, fmt::format("references repeat more than {} values", kMaxReferencedValues), Code::too_large);
    if (r.state == Ref::State::string) {
      if (!strings_budget(at, r.size)) return false;
      const std::size_t i = add(at, NodeKind::string, key, key_size);
      if (i == std::string_view::npos) return false;
      t_.nodes[i].v.s = r.s;
      t_.nodes[i].size = r.size;
      return true;
    }
    const std::size_t from = r.node;
    const std::size_t to = t_.nodes[from].end;
    if (parents + t_.nodes[from].height > kMaxJsonDepth)
      return fail(at, fmt::format("nested deeper than {} levels", kMaxJsonDepth));
    if (t_.nodes.size() + (to - from) > kMaxTreeValues)
      return fail(at, fmt::format("more than {} values", kMaxTreeValues), Code::too_large);
    const std::size_t base = t_.nodes.size();
    const std::uint32_t delta = static_cast<std::uint32_t>(base - from);
    for (std::size_t k = from; k < to; ++k) {
      Node c = t_.nodes[k];  // by value: emplace may move the vector
      if (!strings_budget(at, (k == from ? 0 : c.key_size) + (c.kind == NodeKind::string ? c.size : 0)))
        return false;
      c.end += delta;
      t_.nodes.push_back(c);
    }
    t_.nodes[base].key = key;
    t_.nodes[base].key_size = key_size;
    return true;
  }

  // One object at pos_, appended as a node (`parents` containers enclose it).
  bool value(unsigned parents, const char* key, std::uint32_t key_size) {
    const std::size_t at = pos_;
    if (!need(at, 1)) return false;
    const unsigned byte = p_[pos_++];
    const unsigned code = byte & 0x7F;
    const bool flagged = (byte & 0x80) != 0;
    std::size_t ref = std::string_view::npos;
    auto reserve = [&]() {
      if (flagged) {
        ref = refs_.size();
        refs_.emplace_back();
      }
    };
    switch (code) {
      case 'N':
      case 'T':
      case 'F': {
        if (flagged) return fail(at, "a reference flag on a singleton");
        const std::size_t i = add(at, code == 'N' ? NodeKind::null : NodeKind::boolean, key, key_size);
        if (i == std::string_view::npos) return false;
        t_.nodes[i].flag = code == 'T';
        return true;
      }
      case 'r': {
        if (flagged) return fail(at, "a reference flag on a reference");
        if (!need(at, 4)) return false;
        const std::uint32_t k = u32();
        if (k >= refs_.size()) return fail(at, "a reference to an object not read yet");
        if (refs_[k].state == Ref::State::open)
          return fail(at, "a reference to a container from inside it (a cycle)");
        return copy(at, refs_[k], parents, key, key_size);
      }
      case 'i':
      case 'g':
      case 'l': {
        reserve();
        const std::size_t i = add(at, NodeKind::null, key, key_size);
        if (i == std::string_view::npos) return false;
        if (code == 'i') {
          if (!need(at, 4)) return false;
          const auto v = static_cast<std::int32_t>(u32());
          if (v >= 0) {
            t_.nodes[i].kind = NodeKind::unsigned_integer;
            t_.nodes[i].v.u = static_cast<std::uint64_t>(v);
          } else {
            t_.nodes[i].kind = NodeKind::integer;
            t_.nodes[i].v.i = v;
          }
        } else if (code == 'g') {
          if (!need(at, 8)) return false;
          std::uint64_t bits = 0;
          for (int k = 7; k >= 0; --k) bits = (bits << 8) | p_[pos_ + static_cast<std::size_t>(k)];
          pos_ += 8;
          double d = 0;
          std::memcpy(&d, &bits, sizeof d);
          if (!std::isfinite(d)) return fail(at, "a float that is NaN or infinite (not valid JSON)");
          t_.nodes[i].kind = NodeKind::floating;
          t_.nodes[i].v.d = d;
        } else if (!long_value(at, t_.nodes[i])) {
          return false;
        }
        if (flagged) refs_[ref] = Ref{Ref::State::node, static_cast<std::uint32_t>(i), 0, nullptr};
        return true;
      }
      case 'u':
      case 't':
      case 'a':
      case 'A':
      case 'z':
      case 'Z': {
        reserve();
        const char* s = nullptr;
        std::uint32_t size = 0;
        if (!str(at, code, &s, &size)) return false;
        const std::size_t i = add(at, NodeKind::string, key, key_size);
        if (i == std::string_view::npos) return false;
        t_.nodes[i].v.s = s;
        t_.nodes[i].size = size;
        if (flagged) refs_[ref] = Ref{Ref::State::string, 0, size, s};
        return true;
      }
      case '[':
      case '(':
      case ')': {
        if (parents + 1 > kMaxJsonDepth) return fail(at, fmt::format("nested deeper than {} levels", kMaxJsonDepth));
        reserve();
        std::uint32_t n = 0;
        if (code == ')') {
          if (!need(at, 1)) return false;
          n = p_[pos_++];
        } else if (!count(at, &n)) {
          return false;
        }
        const std::size_t i = add(at, NodeKind::array, key, key_size);
        if (i == std::string_view::npos) return false;
        std::uint16_t height = 1;
        for (std::uint32_t k = 0; k < n; ++k) {
          const std::size_t child = t_.nodes.size();
          if (!value(parents + 1, nullptr, 0)) return false;
          height = std::max<std::uint16_t>(height, static_cast<std::uint16_t>(t_.nodes[child].height + 1));
        }
        t_.nodes[i].size = n;
        t_.nodes[i].height = height;
        t_.nodes[i].end = static_cast<std::uint32_t>(t_.nodes.size());
        if (flagged) refs_[ref] = Ref{Ref::State::node, static_cast<std::uint32_t>(i), 0, nullptr};
        return true;
      }
      case '{': {
        if (parents + 1 > kMaxJsonDepth) return fail(at, fmt::format("nested deeper than {} levels", kMaxJsonDepth));
        reserve();
        const std::size_t i = add(at, NodeKind::object, key, key_size);
        if (i == std::string_view::npos) return false;
        KeySet keys(t_, i);
        std::uint16_t height = 1;
        for (;;) {
          const std::size_t key_at = pos_;
          if (!need(key_at, 1)) return false;
          if (p_[pos_] == '0') {  // TYPE_NULL ends the dict
            ++pos_;
            break;
          }
          const char* k = nullptr;
          std::uint32_t k_size = 0;
          if (!dict_key(&k, &k_size)) return false;
          if (!keys.insert({k, k_size})) {
            const std::string name = printable_name({k, k_size});
            return fail(key_at, name.empty() ? std::string("duplicate member")
                                             : fmt::format("duplicate member \"{}\"", name));
          }
          if (!strings_budget(key_at, k_size)) return false;
          const std::size_t child = t_.nodes.size();
          if (!value(parents + 1, k, k_size)) return false;
          height = std::max<std::uint16_t>(height, static_cast<std::uint16_t>(t_.nodes[child].height + 1));
          ++t_.nodes[i].size;
        }
        t_.nodes[i].height = height;
        t_.nodes[i].end = static_cast<std::uint32_t>(t_.nodes.size());
        if (flagged) refs_[ref] = Ref{Ref::State::node, static_cast<std::uint32_t>(i), 0, nullptr};
        return true;
      }
      default: {
        const std::string what = type_name(code);
        return fail(at, what.empty() ? fmt::format("unknown type code 0x{:02x}", code)
                                     : fmt::format("{} is not accepted", what));
      }
    }
  }

  // A dict key: a str, or a reference to one.
  bool dict_key(const char** k, std::uint32_t* size) {
    const std::size_t at = pos_;
    const unsigned byte = p_[pos_++];
    const unsigned code = byte & 0x7F;
    if (code == 'r' && (byte & 0x80) == 0) {
      if (!need(at, 4)) return false;
      const std::uint32_t r = u32();
      if (r >= refs_.size()) return fail(at, "a reference to an object not read yet");
      if (refs_[r].state != Ref::State::string) return fail(at, "a dict key that is not a str");
      *k = refs_[r].s;
      *size = refs_[r].size;
      return true;
    }
    if (!is_str_code(code)) return fail(at, "a dict key that is not a str");
    std::size_t ref = std::string_view::npos;
    if (byte & 0x80) {
      ref = refs_.size();
      refs_.emplace_back();
    }
    if (!str(at, code, k, size)) return false;
    string_bytes_ -= *size;  // counted by the caller, at each use
    if (ref != std::string_view::npos) refs_[ref] = Ref{Ref::State::string, 0, *size, *k};
    return true;
  }

  const unsigned char* p_;
  std::size_t n_;
  std::size_t pos_ = 0;
  EventTree& t_;
  std::vector<Ref>& refs_ = t_.refs;
  std::size_t string_bytes_ = 0;
  std::size_t repeated_ = 0;  // values copied by references
  Status status_;
};

// ---------------------------------------------------------------------------------------------------------------
// Back ends

json node_json(const EventTree& t, std::size_t i) {
  const Node& n = t.nodes[i];
  switch (n.kind) {
    case NodeKind::null: return json(nullptr);
    case NodeKind::boolean: return json(n.flag);
    case NodeKind::integer: return json(n.v.i);
    case NodeKind::unsigned_integer: return json(n.v.u);
    case NodeKind::floating: return json(n.v.d);
    case NodeKind::string: return json(std::string(n.text()));
    case NodeKind::array: {
      json a = json::array();
      auto& arr = a.get_ref<json::array_t&>();
      arr.reserve(n.size);
      std::size_t c = i + 1;
      for (std::uint32_t k = 0; k < n.size; ++k, c = t.nodes[c].end) arr.push_back(node_json(t, c));
      return a;
    }
    case NodeKind::object: {
      json o = json::object();
      auto& obj = o.get_ref<json::object_t&>();
      std::size_t c = i + 1;
      for (std::uint32_t k = 0; k < n.size; ++k, c = t.nodes[c].end)
        obj.emplace(std::string(t.nodes[c].name()), node_json(t, c));
      return o;
    }
  }
  return json(nullptr);
}

// Reads the members of one object of the tree into a struct; any difference from the struct's shape fails.
class Shape {
 public:
  explicit Shape(const EventTree& t) : t_(t) {}

  bool str(std::size_t i, std::string* out) const {
    if (t_.nodes[i].kind != NodeKind::string) return false;
    out->assign(t_.nodes[i].v.s, t_.nodes[i].size);
    return true;
  }
  bool integer(std::size_t i, std::int64_t* out) const {
    const Node& n = t_.nodes[i];
    if (n.kind == NodeKind::unsigned_integer && n.v.u <= static_cast<std::uint64_t>(record::kMaxSafeInteger)) {
      *out = static_cast<std::int64_t>(n.v.u);
      return true;
    }
    if (n.kind == NodeKind::integer && n.v.i >= -record::kMaxSafeInteger && n.v.i <= record::kMaxSafeInteger) {
      *out = n.v.i;
      return true;
    }
    return false;
  }
  bool number(std::size_t i, double* out) const {
    if (t_.nodes[i].kind != NodeKind::floating) return false;
    const double d = t_.nodes[i].v.d;
    // A double no record can hold (jcs: not finite, or integral beyond 2^53-1 and below 1e21, where it would be
    // written as an integer) goes to the JSON path, which refuses it naming the member, as it always did.
    const double mag = std::fabs(d);
    if (!std::isfinite(d) || (mag > static_cast<double>(record::kMaxSafeInteger) && mag < 1e21)) return false;
    *out = d;
    return true;
  }
  bool boolean(std::size_t i, bool* out) const {
    if (t_.nodes[i].kind != NodeKind::boolean) return false;
    *out = t_.nodes[i].flag;
    return true;
  }
  // Calls member(name, index) for each member of the object at `obj`, which must have exactly `count` members
  // (names are unique, so all of them when member() knows each).
  template <typename F>
  bool members(std::size_t obj, std::uint32_t count, F&& member) const {
    const Node& o = t_.nodes[obj];
    if (o.kind != NodeKind::object || o.size != count) return false;
    std::size_t c = obj + 1;
    for (std::uint32_t k = 0; k < count; ++k, c = t_.nodes[c].end)
      if (!member(t_.nodes[c].name(), c)) return false;
    return true;
  }
  // Calls element(index) for each element of the array at `arr`.
  template <typename F>
  bool elements(std::size_t arr, F&& element) const {
    const Node& a = t_.nodes[arr];
    if (a.kind != NodeKind::array) return false;
    std::size_t c = arr + 1;
    for (std::uint32_t k = 0; k < a.size; ++k, c = t_.nodes[c].end)
      if (!element(c)) return false;
    return true;
  }

 private:
  const EventTree& t_;
};

}  // namespace

bool decode_json_fast(std::string_view text, EventTree* out) {
  out->clear();
  if (text.size() > kMaxJsonBytes || first_invalid_utf8(text) != std::string_view::npos) return false;
  return JsonReader(text, *out).run();
}

Status decode_marshal(const void* data, std::size_t len, EventTree* out) {
  out->clear();
  if (data == nullptr && len != 0)
    return {Code::invalid_argument, fmt::format("event: NULL pointer with length {}", len)};
  if (len > kMaxJsonBytes)
    return {Code::too_large, fmt::format("event: {} bytes, more than the limit of {}", len, kMaxJsonBytes)};
  return MarshalReader(static_cast<const unsigned char*>(data), len, *out).run();
}

json tree_to_json(const EventTree& tree) { return tree.empty() ? json(nullptr) : node_json(tree, 0); }

bool tree_to_generation_event(const EventTree& t, GenerationEvent* g) {
  if (t.empty()) return false;
  const Shape s(t);
  return s.members(0, 14, [&](std::string_view name, std::size_t i) {
    if (name == "event_type") return s.str(i, &g->event_type) && g->event_type == "image_generation";
    if (name == "version") return s.str(i, &g->version);
    if (name == "timestamp") return s.str(i, &g->timestamp);
    if (name == "request_id") return s.str(i, &g->request_id);
    if (name == "user_id") return s.str(i, &g->user_id);
    if (name == "tenant_id") return s.str(i, &g->tenant_id);
    if (name == "session_id") return s.str(i, &g->session_id);
    if (name == "ip_address") return s.str(i, &g->ip_address);
    if (name == "user_agent") return s.str(i, &g->user_agent);
    if (name == "result") return s.str(i, &g->result);
    if (name == "request") {
      GenerationEvent::Request& r = g->request;
      return s.members(i, 12, [&](std::string_view m, std::size_t j) {
        if (m == "prompt_sanitized") return s.str(j, &r.prompt_sanitized);
        if (m == "prompt_hash") return s.str(j, &r.prompt_hash);
        if (m == "negative_prompt") return s.str(j, &r.negative_prompt);
        if (m == "performance") return s.str(j, &r.performance);
        if (m == "aspect_ratio") return s.str(j, &r.aspect_ratio);
        if (m == "num_images") return s.integer(j, &r.num_images);
        if (m == "seed") {
          std::int64_t seed = 0;
          if (!s.integer(j, &seed) || seed < 0) return false;
          r.seed = static_cast<std::uint64_t>(seed);
          return true;
        }
        if (m == "loras") {
          std::size_t n = 0;  // elements are reused (and their strings' capacity) from the thread's last event
          const bool ok = s.elements(j, [&](std::size_t e) {
            if (n == r.loras.size()) r.loras.emplace_back();
            GenerationEvent::Lora& l = r.loras[n++];
            return s.members(e, 2, [&](std::string_view f, std::size_t k) {
              if (f == "name") return s.str(k, &l.name);
              if (f == "weight") return s.number(k, &l.weight);
              return false;
            });
          });
          r.loras.resize(n);
          return ok;
        }
        if (m == "styles") {
          std::size_t n = 0;
          const bool ok = s.elements(j, [&](std::size_t e) {
            if (n == r.styles.size()) r.styles.emplace_back();
            return s.str(e, &r.styles[n++]);
          });
          r.styles.resize(n);
          return ok;
        }
        if (m == "guidance_scale") return s.number(j, &r.guidance_scale);
        if (m == "sharpness") return s.number(j, &r.sharpness);
        if (m == "enable_safety_checker") return s.boolean(j, &r.enable_safety_checker);
        return false;
      });
    }
    if (name == "processing") {
      GenerationEvent::Processing& p = g->processing;
      return s.members(i, 6, [&](std::string_view m, std::size_t j) {
        if (m == "worker_id") return s.str(j, &p.worker_id);
        if (m == "queue_wait_ms") return s.integer(j, &p.queue_wait_ms);
        if (m == "generation_duration_ms") return s.integer(j, &p.generation_duration_ms);
        if (m == "retry_count") return s.integer(j, &p.retry_count);
        if (m == "model_version") return s.str(j, &p.model_version);
        if (m == "refiner_model") return s.str(j, &p.refiner_model);
        return false;
      });
    }
    if (name == "outputs") {
      std::size_t n = 0;
      const bool ok = s.elements(i, [&](std::size_t e) {
        if (n == g->outputs.size()) g->outputs.emplace_back();
        GenerationEvent::Output& o = g->outputs[n++];
        return s.members(e, 5, [&](std::string_view m, std::size_t j) {
          if (m == "url") return s.str(j, &o.url);
          if (m == "hash") return s.str(j, &o.hash);
          if (m == "width") return s.integer(j, &o.width);
          if (m == "height") return s.integer(j, &o.height);
          if (m == "file_size_bytes") return s.integer(j, &o.file_size_bytes);
          return false;
        });
      });
      g->outputs.resize(n);
      return ok;
    }
    if (name == "safety") {
      GenerationEvent::Safety& f = g->safety;
      return s.members(i, 2, [&](std::string_view m, std::size_t j) {
        if (m == "has_nsfw_concepts") return s.boolean(j, &f.has_nsfw_concepts);
        if (m == "safety_checker_version") return s.str(j, &f.safety_checker_version);
        return false;
      });
    }
    return false;
  });
}

namespace {

// The typed back end's event, kept per thread so that its strings keep their capacity from one event to the next
// (every member is assigned whenever the tree maps onto it). A nested call on the thread uses its own.
thread_local GenerationEvent t_typed;
thread_local bool t_typed_busy = false;

}  // namespace

Status log_tree(AuditLogger& logger, const EventTree& tree, Backend backend) {
  if (backend == Backend::automatic) {
    if (t_typed_busy) {
      GenerationEvent g;
      if (tree_to_generation_event(tree, &g)) return logger.log(g);
    } else {
      t_typed_busy = true;
      struct Release {
        ~Release() { t_typed_busy = false; }
      } release;
      if (tree_to_generation_event(tree, &t_typed)) return logger.log(t_typed);
    }
  }
  return logger.log(tree_to_json(tree));
}

namespace {

thread_local EventTree t_tree;
thread_local bool t_tree_busy = false;

// The per-thread tree for one call (a fresh one if the thread is already using it), emptied afterwards.
class TreeLease {
 public:
  TreeLease() {
    if (t_tree_busy) {
      own_ = std::make_unique<EventTree>();
    } else {
      t_tree_busy = true;
    }
  }
  ~TreeLease() {
    if (own_) return;
    t_tree.clear();
    // A large event's memory is not kept for the life of the thread.
    if (t_tree.nodes.capacity() > 4096) std::vector<Node>().swap(t_tree.nodes);
    if (t_tree.refs.capacity() > 4096) std::vector<EventTree::Ref>().swap(t_tree.refs);
    t_tree_busy = false;
  }
  TreeLease(const TreeLease&) = delete;
  TreeLease& operator=(const TreeLease&) = delete;
  EventTree& tree() { return own_ ? *own_ : t_tree; }

 private:
  std::unique_ptr<EventTree> own_;
};

}  // namespace

Status log_json_text(AuditLogger& logger, const char* data, std::size_t len) {
  if (data != nullptr) {
    TreeLease lease;
    if (decode_json_fast({data, len}, &lease.tree())) return log_tree(logger, lease.tree());
  }
  json event;
  if (Status s = parse_json_object(data, len, "event", &event); !s.ok()) return s;
  return logger.log(event);
}

Status log_marshal(AuditLogger& logger, const void* data, std::size_t len) {
  TreeLease lease;
  if (Status s = decode_marshal(data, len, &lease.tree()); !s.ok()) return s;
  return log_tree(logger, lease.tree());
}

Status marshal_to_json_text(const void* data, std::size_t len, std::string* out) {
  TreeLease lease;
  if (Status s = decode_marshal(data, len, &lease.tree()); !s.ok()) return s;
  *out = tree_to_json(lease.tree()).dump();
  return Status::OK();
}

}  // namespace fooocus_audit::capi
