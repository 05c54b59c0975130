// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/content_policy.hpp"
#endif

#include <fmt/format.h>
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/events.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/jcs-inl.hpp"  // jcs_impl::utf8_sequence (already included in both build modes)

namespace fooocus_audit {
namespace detail {

/// The compiled form of a policy: one group per rule and matcher kind (its keywords, its whole words, each of
/// its patterns), in rule order, and an RE2::Set of all groups that finds every matching group in one pass.
/// A whole-words group is in the set as a case-insensitive alternation of its words, without the boundaries
/// (Unicode letter classes around every group would make the set slow to compile and large); a hit is then
/// confirmed word by word.
struct CompiledPolicy {
  struct Entry {
    std::size_t rule = 0;
    MatcherKind kind = MatcherKind::keyword;
    std::unique_ptr<re2::RE2> re;  // the group alone, for the fallback when the set's DFA runs out of memory
    std::vector<std::unique_ptr<re2::RE2>> words;  // whole_word: one case-insensitive literal per word
  };
  std::vector<Entry> entries;
  std::unique_ptr<re2::RE2::Set> set;  // null when there are no entries
};

}  // namespace detail

namespace content_policy_impl {

using nlohmann::json;

// RE2's default budget (8 MiB) per group; the set holds every group, so it gets more. Both bound the DFA
// cache: when it is exhausted RE2 falls back to slower, still linear-time matching.
constexpr std::int64_t kGroupMaxMem = 8 << 20;
constexpr std::int64_t kSetMaxMem = 64 << 20;

inline re2::RE2::Options re2_options(std::int64_t max_mem) {
  re2::RE2::Options o;
  o.set_log_errors(false);  // errors are returned, never printed
  o.set_never_capture(true);
  o.set_max_mem(max_mem);
  return o;
}

/// "(?i:w1|w2|...)": the literals, case-insensitively (Unicode simple case folding).
inline std::string literal_alternation(const std::vector<std::string>& words) {
  std::string out = "(?i:";
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i != 0) out += '|';
    out += re2::RE2::QuoteMeta(words[i]);
  }
  out += ')';
  return out;
}

/// A word character for whole-word matching: a letter, a combining mark or a digit of any script, or '_'.
/// Anything else (punctuation, spaces, symbols, U+FFFD for invalid bytes) is a boundary. Compiled once.
inline const re2::RE2& word_character() {
  static const re2::RE2 re(R"([\pL\pM\pN_])", re2_options(kGroupMaxMem));
  return re;
}

/// Length of the UTF-8 sequence whose lead byte is c (1 for anything else; the text is valid UTF-8).
inline std::size_t sequence_length(unsigned char c) noexcept {
  return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

/// Whether the character (one UTF-8 sequence) is a word character; ASCII without RE2.
inline bool is_word_character(std::string_view c) {
  const auto b = static_cast<unsigned char>(c[0]);
  if (b < 0x80) return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_';
  return re2::RE2::FullMatch(c, word_character());
}

/// True when text[begin, end) is neither preceded nor followed by a word character. text is valid UTF-8.
inline bool at_word_boundaries(std::string_view text, std::size_t begin, std::size_t end) {
  if (begin > 0) {
    std::size_t start = begin - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    if (is_word_character(text.substr(start, begin - start))) return false;
  }
  if (end < text.size()) {
    const std::size_t n = std::min(sequence_length(static_cast<unsigned char>(text[end])), text.size() - end);
    if (is_word_character(text.substr(end, n))) return false;
  }
  return true;
}

/// True when one of the literals occurs in text as a whole word. Each literal's occurrences are tried left to
/// right, so "aa" is found in "aaa aa"; the work is linear in the text per literal.
inline bool find_whole_word(std::string_view text, const std::vector<std::unique_ptr<re2::RE2>>& words) {
  for (const auto& word : words) {
    std::size_t pos = 0;
    re2::StringPiece m;
    while (pos < text.size() && word->Match(text, pos, text.size(), re2::RE2::UNANCHORED, &m, 1)) {
      const auto begin = static_cast<std::size_t>(m.data() - text.data());
      if (at_word_boundaries(text, begin, begin + m.size())) return true;
      pos = begin + sequence_length(static_cast<unsigned char>(text[begin]));
    }
  }
  return false;
}

/// Offset of the first invalid UTF-8 byte, or s.size() when s is valid UTF-8.
inline std::size_t first_invalid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  const auto* begin = p;
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    const std::size_t n = jcs::jcs_impl::utf8_sequence(p, end);
    if (n == 0) return static_cast<std::size_t>(p - begin);
    p += n;
  }
  return s.size();
}

/// s with every invalid UTF-8 byte replaced by U+FFFD, so that RE2 (which matches no character class, not
/// even a negated one, against such a byte) sees a non-word character there: "bomb\xff" is the word "bomb".
inline std::string replace_invalid_utf8(std::string_view s, std::size_t first_bad) {
  std::string out(s.substr(0, first_bad));
  out.reserve(s.size() + 16);
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + first_bad;
  const auto* end = reinterpret_cast<const unsigned char*>(s.data()) + s.size();
  while (p < end) {
    if (*p < 0x80) {
      out += static_cast<char>(*p++);
      continue;
    }
    const std::size_t n = jcs::jcs_impl::utf8_sequence(p, end);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++p;
    } else {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
  }
  return out;
}

inline bool valid_rule_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(id[0])) return false;
  return std::all_of(id.begin(), id.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == ':' || c == '-'; });
}

/// "sha256:<64 lowercase hex>" or "hmac-sha256:<64 lowercase hex>".
inline bool valid_prompt_hash(std::string_view h) noexcept {
  Hash ignored;
  for (std::string_view prefix : {std::string_view("sha256:"), std::string_view("hmac-sha256:")})
    if (h.substr(0, prefix.size()) == prefix)
      return detail::parse_hash_hex(h.substr(prefix.size()), &ignored);
  return false;
}

/// A string for an error message: JSON-quoted, invalid UTF-8 replaced, long values cut.
inline std::string shown(std::string_view s) {
  std::string cut(s.substr(0, 80));
  std::string q = json(cut).dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) q.insert(q.size() - 1, "...");
  return q;
}

/// 1-based line and column (in bytes) of a byte offset.
struct TextPos {
  std::size_t line = 0, column = 0;  // 0: unknown
};

inline TextPos position_of(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  TextPos p{1, 1};
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i)
    if (text[i] == '\n') {
      ++p.line;
      line_start = i + 1;
    }
  p.column = offset - line_start + 1;
  return p;
}

/// Walks a document nlohmann::json has already accepted, to find where things start (nlohmann keeps no
/// positions): the top-level object and each element of its last "rules" member.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : t_(text) {
    if (t_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;  // nlohmann skips a UTF-8 byte order mark too
  }

  /// False if the text is not shaped as expected (the caller then reports no position).
  bool scan(std::size_t* root, std::vector<std::size_t>* rules) {
    ws();
    if (!at('{')) return false;
    *root = i_++;
    for (;;) {
      ws();
      if (at('}')) return true;
      std::string_view raw;
      if (!string(&raw)) return false;
      ws();
      if (!at(':')) return false;
      ++i_;
      ws();
      if (key(raw) == "rules" && at('[')) {
        rules->clear();
        ++i_;
        for (;;) {
          ws();
          if (at(']')) {
            ++i_;
            break;
          }
          rules->push_back(i_);
          if (!value()) return false;
          ws();
          if (at(',')) ++i_;
        }
      } else if (!value()) {
        return false;
      }
      ws();
      if (at(',')) ++i_;
    }
  }

 private:
  bool at(char c) const { return i_ < t_.size() && t_[i_] == c; }
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  bool string(std::string_view* raw) {
    if (!at('"')) return false;
    const std::size_t begin = i_++;
    while (i_ < t_.size() && t_[i_] != '"') i_ += t_[i_] == '\\' ? 2 : 1;
    if (i_ >= t_.size()) return false;
    ++i_;
    *raw = t_.substr(begin, i_ - begin);
    return true;
  }
  static std::string key(std::string_view raw) {
    if (raw.find('\\') == std::string_view::npos) return std::string(raw.substr(1, raw.size() - 2));
    const json j = json::parse(raw, nullptr, /*allow_exceptions=*/false);
    return j.is_string() ? j.get<std::string>() : std::string();
  }
  bool value() {
    if (i_ >= t_.size()) return false;
    if (at('"')) {
      std::string_view raw;
      return string(&raw);
    }
    if (at('{') || at('[')) {
      int depth = 0;
      while (i_ < t_.size()) {
        const char c = t_[i_];
        if (c == '"') {
          std::string_view raw;
          if (!string(&raw)) return false;
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if ((c == '}' || c == ']') && --depth == 0) {
          ++i_;
          return true;
        }
        ++i_;
      }
      return false;
    }
    const std::size_t begin = i_;
    while (i_ < t_.size() && std::string_view(",]} \t\r\n").find(t_[i_]) == std::string_view::npos) ++i_;
    return i_ > begin;
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

/// Names a rule in error messages: "<source>:<line>:<column>: rule 3 (\"weapons-001\"): " when the position
/// is known, "rule 3 (\"weapons-001\"): " otherwise.
struct RuleLocator {
  std::string_view source;
  std::string_view text;                              // the rule file, or empty
  const std::vector<std::size_t>* offsets = nullptr;  // where each rule object starts in text

  std::optional<TextPos> pos(std::size_t index) const {
    if (offsets == nullptr || index >= offsets->size()) return std::nullopt;
    return position_of(text, (*offsets)[index]);
  }
  std::string prefix(std::size_t index, std::string_view id) const {
    std::string out;
    if (auto p = pos(index)) out = fmt::format("{}:{}:{}: ", source, p->line, p->column);
    out += fmt::format("rule {}", index + 1);
    if (valid_rule_id(id)) out += fmt::format(" (\"{}\")", id);
    out += ": ";
    return out;
  }
  Status error(std::size_t index, std::string_view id, std::string_view why) const {
    return Status(Code::invalid_argument, prefix(index, id) + std::string(why));
  }
};

inline Status check_literals(const std::vector<std::string>& words, std::string_view member) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (words[i].empty()) return Status(Code::invalid_argument, fmt::format("{}[{}] is empty", member, i));
    if (first_invalid_utf8(words[i]) != words[i].size())
      return Status(Code::invalid_argument, fmt::format("{}[{}] is not valid UTF-8", member, i));
  }
  return {};
}

/// Validates the rules and compiles them. Errors name the rule through `where`.
inline Result<std::shared_ptr<const detail::CompiledPolicy>> compile(const std::vector<PolicyRule>& rules,
                                                                     const RuleLocator& where) {
  auto compiled = std::make_shared<detail::CompiledPolicy>();
  std::unordered_map<std::string_view, std::size_t> first_index;
  const re2::RE2::Options group_options = re2_options(kGroupMaxMem);
  std::vector<std::string> set_patterns;

  for (std::size_t r = 0; r < rules.size(); ++r) {
    const PolicyRule& rule = rules[r];
    if (!valid_rule_id(rule.id))
      return where.error(
          r, rule.id,
          fmt::format("invalid id {}: 1 to 64 characters of A-Z a-z 0-9 . _ : -, starting with a "
                      "letter or digit",
                      shown(rule.id)));
    if (auto [it, inserted] = first_index.emplace(rule.id, r); !inserted) {
      std::string first = fmt::format("rule {}", it->second + 1);
      if (auto p = where.pos(it->second)) first = fmt::format("line {}", p->line);
      return where.error(r, rule.id, fmt::format("duplicate id (first defined at {})", first));
    }
    if (rule.name.empty()) return where.error(r, rule.id, "name is empty");
    if (first_invalid_utf8(rule.name) != rule.name.size())
      return where.error(r, rule.id, "name is not valid UTF-8");
    if (rule.keywords.empty() && rule.whole_words.empty() && rule.patterns.empty())
      return where.error(r, rule.id, "no matcher: give keywords, whole_words or patterns");
    if (Status s = check_literals(rule.keywords, "keywords"); !s) return where.error(r, rule.id, s.message());
    if (Status s = check_literals(rule.whole_words, "whole_words"); !s)
      return where.error(r, rule.id, s.message());

    // Literal groups fail to compile only beyond RE2's memory budget (tens of thousands of words).
    auto add_literals = [&](MatcherKind kind, const std::vector<std::string>& words,
                            std::string_view member) {
      std::string pattern = literal_alternation(words);
      auto re = std::make_unique<re2::RE2>(pattern, group_options);
      if (!re->ok())
        return Status(Code::invalid_argument, fmt::format("{} do not compile: {}", member, re->error()));
      detail::CompiledPolicy::Entry entry{r, kind, std::move(re), {}};
      if (kind == MatcherKind::whole_word)
        for (const std::string& w : words) {
          entry.words.push_back(std::make_unique<re2::RE2>(literal_alternation({w}), group_options));
          if (!entry.words.back()->ok())
            return Status(Code::invalid_argument,
                          fmt::format("{} do not compile: {}", member, entry.words.back()->error()));
        }
      compiled->entries.push_back(std::move(entry));
      set_patterns.push_back(std::move(pattern));
      return Status();
    };
    if (!rule.keywords.empty())
      if (Status s = add_literals(MatcherKind::keyword, rule.keywords, "keywords"); !s)
        return where.error(r, rule.id, s.message());
    if (!rule.whole_words.empty())
      if (Status s = add_literals(MatcherKind::whole_word, rule.whole_words, "whole_words"); !s)
        return where.error(r, rule.id, s.message());
    for (std::size_t i = 0; i < rule.patterns.size(); ++i) {
      if (rule.patterns[i].empty()) return where.error(r, rule.id, fmt::format("patterns[{}] is empty", i));
      auto re = std::make_unique<re2::RE2>(rule.patterns[i], group_options);
      if (!re->ok())
        return where.error(r, rule.id, fmt::format("patterns[{}] does not compile: {}", i, re->error()));
      compiled->entries.push_back({r, MatcherKind::pattern, std::move(re), {}});
      set_patterns.push_back(rule.patterns[i]);
    }
  }

  if (!compiled->entries.empty()) {
    compiled->set = std::make_unique<re2::RE2::Set>(re2_options(kSetMaxMem), re2::RE2::UNANCHORED);
    for (const std::string& p : set_patterns) {
      std::string error;
      if (compiled->set->Add(p, &error) < 0)
        return Status(Code::internal, "RE2::Set refused a pattern RE2 compiled: " + error);
    }
    if (!compiled->set->Compile())
      return Status(Code::invalid_argument,
                    fmt::format("the {} matcher groups of the policy exceed RE2's memory budget ({} MiB)",
                                set_patterns.size(), kSetMaxMem >> 20));
  }
  return std::shared_ptr<const detail::CompiledPolicy>(std::move(compiled));
}

// ----- The rule file --------------------------------------------------------------------------------------

constexpr std::string_view kRuleMembers =
    "id, name, severity, action, keywords, whole_words, patterns, description";

inline std::optional<events::Severity> parse_severity(std::string_view s) {
  for (events::Severity v :
       {events::Severity::low, events::Severity::medium, events::Severity::high, events::Severity::critical})
    if (events::to_string(v) == s) return v;
  return std::nullopt;
}

inline Status string_array(const json& rule, const char* member, std::vector<std::string>* out) {
  auto it = rule.find(member);
  if (it == rule.end()) return {};
  if (!it->is_array())
    return Status(Code::invalid_argument, fmt::format("\"{}\" must be an array of strings", member));
  for (std::size_t i = 0; i < it->size(); ++i) {
    if (!(*it)[i].is_string())
      return Status(Code::invalid_argument, fmt::format("{}[{}] must be a string", member, i));
    out->push_back((*it)[i].get<std::string>());
  }
  return {};
}

inline Status required_string(const json& rule, const char* member, std::string* out) {
  auto it = rule.find(member);
  if (it == rule.end()) return Status(Code::invalid_argument, fmt::format("missing \"{}\"", member));
  if (!it->is_string()) return Status(Code::invalid_argument, fmt::format("\"{}\" must be a string", member));
  *out = it->get<std::string>();
  return {};
}

/// One rule object of the file (types and enumerations; compile() checks the rest).
inline Status rule_from_json(const json& j, PolicyRule* rule) {
  if (!j.is_object()) return Status(Code::invalid_argument, "a rule must be a JSON object");
  for (const auto& member : j.items()) {
    const std::string& k = member.key();
    if (k != "id" && k != "name" && k != "severity" && k != "action" && k != "keywords" &&
        k != "whole_words" && k != "patterns" && k != "description")
      return Status(Code::invalid_argument,
                    fmt::format("unknown member {} (expected {})", shown(k), kRuleMembers));
  }
  if (Status s = required_string(j, "id", &rule->id); !s) return s;
  if (Status s = required_string(j, "name", &rule->name); !s) return s;
  std::string severity;
  if (Status s = required_string(j, "severity", &severity); !s) return s;
  if (auto v = parse_severity(severity)) {
    rule->severity = *v;
  } else {
    return Status(
        Code::invalid_argument,
        fmt::format("unknown severity {} (expected low, medium, high or critical)", shown(severity)));
  }
  if (j.contains("action")) {
    std::string action;
    if (Status s = required_string(j, "action", &action); !s) return s;
    if (action == "reject") {
      rule->action = events::PolicyAction::rejected;
    } else if (action == "flag") {
      rule->action = events::PolicyAction::flagged;
    } else {
      return Status(Code::invalid_argument,
                    fmt::format("unknown action {} (expected reject or flag)", shown(action)));
    }
  }
  if (j.contains("description") && !j["description"].is_string())
    return Status(Code::invalid_argument, "\"description\" must be a string");
  if (j.contains("description")) rule->description = j["description"].get<std::string>();
  if (Status s = string_array(j, "keywords", &rule->keywords); !s) return s;
  if (Status s = string_array(j, "whole_words", &rule->whole_words); !s) return s;
  return string_array(j, "patterns", &rule->patterns);
}

/// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 1, column 2: "
/// prefix (the position is reported from the byte offset).
inline std::string parse_error_reason(const char* what) {
  const std::string_view w(what);
  const auto at = w.find("parse error");
  const auto colon = at == std::string_view::npos ? std::string_view::npos : w.find(": ", at);
  return std::string(colon == std::string_view::npos ? w : w.substr(colon + 2));
}

}  // namespace content_policy_impl

// ----- Hashers
// ------------------------------------------------------------------------------------------------

FA_INLINE std::string sha256_prompt_hash(std::string_view prompt) {
  return "sha256:" + detail::to_hex(detail::sha256(prompt));
}

FA_INLINE Result<PromptHasher> hmac_prompt_hasher(std::string_view key) {
  if (key.size() < 16)
    return Status(Code::invalid_argument,
                  fmt::format("prompt HMAC key is {} bytes; use at least 16 (32 random bytes recommended)",
                              key.size()));
  struct Key {
    std::string bytes;
    ~Key() { detail::secure_wipe(bytes.data(), bytes.size()); }
  };
  auto k = std::make_shared<Key>();
  k->bytes.assign(key);
  return PromptHasher([k](std::string_view prompt) {
    return "hmac-sha256:" + detail::to_hex(detail::hmac_sha256(k->bytes.data(), k->bytes.size(), prompt));
  });
}

// ----- ContentPolicyEnforcer
// ----------------------------------------------------------------------------------

FA_INLINE Result<ContentPolicyEnforcer> ContentPolicyEnforcer::create(std::vector<PolicyRule> rules) {
  auto compiled = content_policy_impl::compile(rules, content_policy_impl::RuleLocator{});
  if (!compiled) return compiled.status();
  ContentPolicyEnforcer e;
  e.rules_ = std::move(rules);
  e.compiled_ = std::move(compiled.value());
  return e;
}

FA_INLINE Result<ContentPolicyEnforcer> ContentPolicyEnforcer::parse(std::string_view json_text,
                                                                     std::string_view source) {
  namespace impl = content_policy_impl;
  using nlohmann::json;
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    // e.byte: 1-based index of the last character read, the one that made the text invalid.
    const impl::TextPos p = impl::position_of(json_text, e.byte > 0 ? e.byte - 1 : 0);
    return Status(Code::invalid_argument, fmt::format("{}:{}:{}: invalid JSON: {}", source, p.line, p.column,
                                                      impl::parse_error_reason(e.what())));
  }

  std::size_t root = 0;
  std::vector<std::size_t> offsets;
  if (!impl::Scanner(json_text).scan(&root, &offsets)) offsets.clear();
  const impl::TextPos rp = impl::position_of(json_text, root);
  auto top_error = [&](std::string_view why) {
    return Status(Code::invalid_argument, fmt::format("{}:{}:{}: {}", source, rp.line, rp.column, why));
  };
  if (!doc.is_object()) return top_error("a policy file is a JSON object with a \"rules\" array");
  for (const auto& member : doc.items())
    if (member.key() != "version" && member.key() != "rules" && member.key() != "description")
      return top_error(
          fmt::format("unknown member {} (expected version, rules, description)", impl::shown(member.key())));
  if (doc.contains("version") && doc["version"] != 1)
    return top_error("unsupported \"version\" (this library reads version 1)");
  const auto rules_it = doc.find("rules");
  if (rules_it == doc.end() || !rules_it->is_array()) return top_error("missing \"rules\" array");
  if (offsets.size() != rules_it->size()) offsets.clear();  // never a wrong line: rather none

  const impl::RuleLocator where{source, json_text, &offsets};
  std::vector<PolicyRule> rules(rules_it->size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const json& j = (*rules_it)[i];
    if (Status s = impl::rule_from_json(j, &rules[i]); !s) {
      const std::string id =
          j.is_object() && j.contains("id") && j["id"].is_string() ? j["id"].get<std::string>() : "";
      return where.error(i, id, s.message());
    }
  }
  auto compiled = impl::compile(rules, where);
  if (!compiled) return compiled.status();
  ContentPolicyEnforcer e;
  e.rules_ = std::move(rules);
  e.compiled_ = std::move(compiled.value());
  return e;
}

FA_INLINE Result<ContentPolicyEnforcer> ContentPolicyEnforcer::load(const std::string& path) {
  Result<std::string> text = detail::read_file(path);
  if (!text) return text.status();
  return parse(text.value(), path);
}

FA_INLINE Verdict ContentPolicyEnforcer::check(std::string_view prompt) const {
  namespace impl = content_policy_impl;
  Verdict v;
  if (!compiled_ || compiled_->entries.empty()) return v;
  std::string repaired;
  if (const std::size_t bad = impl::first_invalid_utf8(prompt); bad != prompt.size()) {
    repaired = impl::replace_invalid_utf8(prompt, bad);
    prompt = repaired;
  }
  const auto& entries = compiled_->entries;
  std::vector<int> hits;
  re2::RE2::Set::ErrorInfo info{re2::RE2::Set::kNoError};
  if (!compiled_->set->Match(prompt, &hits, &info) && info.kind != re2::RE2::Set::kNoError) {
    // The set's DFA ran out of memory: match group by group (each RE2 falls back to its NFA, still linear).
    hits.clear();
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (re2::RE2::PartialMatch(prompt, *entries[i].re)) hits.push_back(static_cast<int>(i));
  }
  // Entries are in rule order, and within a rule keyword < whole_word < pattern.
  std::sort(hits.begin(), hits.end());
  std::size_t last_rule = static_cast<std::size_t>(-1);
  for (int h : hits) {
    const auto& entry = entries[static_cast<std::size_t>(h)];
    if (entry.rule == last_rule) continue;
    if (entry.kind == MatcherKind::whole_word && !impl::find_whole_word(prompt, entry.words)) continue;
    last_rule = entry.rule;
    const PolicyRule& rule = rules_[entry.rule];
    v.violations.push_back({rule.id, rule.name, rule.severity, rule.action, entry.kind});
    if (rule.action == events::PolicyAction::rejected) v.allowed = false;
  }
  return v;
}

FA_INLINE std::string ContentPolicyEnforcer::hash_prompt(std::string_view prompt) const {
  return hasher_ ? hasher_(prompt) : sha256_prompt_hash(prompt);
}

FA_INLINE void ContentPolicyEnforcer::set_prompt_hasher(PromptHasher hasher) { hasher_ = std::move(hasher); }

FA_INLINE Result<Verdict> ContentPolicyEnforcer::enforce(std::string_view prompt, std::string_view request_id,
                                                         AuditLogger& logger,
                                                         const events::Context& context) const {
  Verdict v = check(prompt);
  if (v.violations.empty()) return v;
  const std::string hash = hash_prompt(prompt);
  // Never echo what the hasher returned: a broken hasher might return the prompt itself.
  if (!content_policy_impl::valid_prompt_hash(hash))
    return Status(Code::invalid_argument,
                  "the prompt hasher returned a malformed hash (expected \"sha256:<64 hex>\" or "
                  "\"hmac-sha256:<64 hex>\"); no policy.violation was logged");
  for (const RuleViolation& violation : v.violations) {
    events::PolicyViolation ev(hash, violation.rule_id, violation.rule_name, violation.severity,
                               violation.action);
    static_cast<events::Context&>(ev) = context;
    if (!request_id.empty()) ev.request_id = std::string(request_id);
    Result<nlohmann::json> event = ev.to_json();
    if (!event) return event.status();
    event.value()["matcher"] = std::string(to_string(violation.matcher));
    if (Status s = logger.log(event.value()); !s)
      return Status(s.code(), fmt::format("policy.violation of rule \"{}\" not logged: {}", violation.rule_id,
                                          s.message()));
  }
  return v;
}

FA_INLINE Status log_safety_check(AuditLogger& logger, std::string_view request_id,
                                  std::string_view prompt_hash, const events::NsfwFlags& has_nsfw_concepts,
                                  events::SafetyAction action, std::string_view safety_checker_version,
                                  const events::Context& context) {
  if (!content_policy_impl::valid_prompt_hash(prompt_hash))
    return Status(
        Code::invalid_argument,
        "safety_check.completed: prompt_hash must be \"sha256:<64 hex>\" or \"hmac-sha256:<64 hex>\"");
  events::SafetyCheckCompleted ev(std::string(request_id), std::string(prompt_hash), has_nsfw_concepts,
                                  action);
  static_cast<events::Context&>(ev) = context;
  if (!safety_checker_version.empty()) ev.safety_checker_version = std::string(safety_checker_version);
  Result<nlohmann::json> event = ev.to_json();
  if (!event) return event.status();
  return logger.log(event.value());
}

FA_INLINE Status ContentPolicyEnforcer::log_safety_check(std::string_view prompt, std::string_view request_id,
                                                         AuditLogger& logger,
                                                         const events::NsfwFlags& has_nsfw_concepts,
                                                         events::SafetyAction action,
                                                         std::string_view safety_checker_version,
                                                         const events::Context& context) const {
  return fooocus_audit::log_safety_check(logger, request_id, hash_prompt(prompt), has_nsfw_concepts, action,
                                         safety_checker_version, context);
}

}  // namespace fooocus_audit
