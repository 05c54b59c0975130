// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file content_policy.hpp
/// ContentPolicyEnforcer: checks prompts against content policy rules (keywords, whole words, RE2 patterns)
/// and logs a `policy.violation` event per violated rule, with the prompt's hash and never its text; and the
/// `safety_check.completed` event of the safety checker. docs/content-policy.md describes the rule file.
///
/// RE2 does the matching (linear time in the prompt, whatever the pattern). The compiled library links it
/// privately; in header-only mode this header needs RE2's headers and library (fooocus_audit::header_only
/// links re2::re2; without CMake add `pkg-config --cflags --libs re2`).

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/events.hpp"

namespace fooocus_audit {

class AuditLogger;

/// Which kind of matcher of a rule found the prompt.
enum class MatcherKind {
  keyword,     ///< case-insensitive substring
  whole_word,  ///< case-insensitive, not preceded or followed by a letter, digit, combining mark or '_'
  pattern,     ///< RE2 regular expression, unanchored, as written (use (?i) for case-insensitivity)
};

/// "keyword", "whole_word", "pattern".
constexpr std::string_view to_string(MatcherKind k) noexcept {
  switch (k) {
    case MatcherKind::keyword:
      return "keyword";
    case MatcherKind::whole_word:
      return "whole_word";
    case MatcherKind::pattern:
      return "pattern";
  }
  return "unknown";
}

/// One rule of a content policy. A rule with any matcher that finds the prompt is violated.
struct PolicyRule {
  std::string id;    ///< unique; 1..64 characters of [A-Za-z0-9._:-], starting with a letter or digit
  std::string name;  ///< non-empty, logged as rule_name
  events::Severity severity = events::Severity::medium;
  /// rejected: the prompt must not be generated (rule file: "reject"); flagged: it may, the event marks it
  /// for review (rule file: "flag").
  events::PolicyAction action = events::PolicyAction::rejected;
  std::vector<std::string> keywords;     ///< non-empty literals, matched as case-insensitive substrings
  std::vector<std::string> whole_words;  ///< non-empty literals, matched case-insensitively as whole words
  std::vector<std::string> patterns;     ///< RE2 syntax (https://github.com/google/re2/wiki/Syntax)
  std::string description;               ///< for people; never logged
};

/// One violated rule. Carries no prompt text and no matched text.
struct RuleViolation {
  std::string rule_id;
  std::string rule_name;
  events::Severity severity = events::Severity::medium;
  events::PolicyAction action = events::PolicyAction::rejected;
  MatcherKind matcher = MatcherKind::keyword;  ///< the first kind that matched: keyword, whole_word, pattern
};

/// What check() found.
struct Verdict {
  /// False when a violated rule's action is `rejected`: the caller must not generate the image.
  bool allowed = true;
  std::vector<RuleViolation> violations;  ///< one per violated rule, in rule order
  /// True when the prompt must be rejected.
  bool reject() const noexcept { return !allowed; }
};

/// Turns a prompt into the `prompt_hash` of the events. Must return "sha256:<64 lowercase hex>" or, for a
/// keyed hash, "hmac-sha256:<64 lowercase hex>" (docs/events.md), and be safe to call from several threads.
using PromptHasher = std::function<std::string(std::string_view prompt)>;

/// "sha256:<hex>" of the prompt's bytes: the default PromptHasher.
std::string sha256_prompt_hash(std::string_view prompt);

/// A PromptHasher returning "hmac-sha256:<hex>" of HMAC-SHA256(key, prompt): whoever reads the log cannot
/// test guesses of a prompt against it without the key. The key is copied and wiped when the last copy of the
/// hasher dies. Thread-safe. Errors: invalid_argument for a key shorter than 16 bytes (use 32 random bytes).
Result<PromptHasher> hmac_prompt_hasher(std::string_view key);

namespace detail {
struct CompiledPolicy;  // the RE2 objects (content_policy-inl.hpp)
}

/// A set of content policy rules, compiled once; cheap to copy (copies share the compiled rules).
///
/// Thread safety: check(), enforce(), hash_prompt() and log_safety_check() may run concurrently on one object
/// (RE2 matching is thread-safe); set_prompt_hasher() must not race with them.
class ContentPolicyEnforcer {
 public:
  /// Reads a rule file (docs/content-policy.md). Errors: not_found / io_error (reading), invalid_argument
  /// "<path>:<line>:<column>: <reason>" where the line is that of the JSON syntax error, or where the bad
  /// rule's object starts (unknown member, missing or mistyped id/name/severity/matchers, unknown severity or
  /// action, duplicate id, a pattern RE2 cannot compile, with RE2's message).
  static Result<ContentPolicyEnforcer> load(const std::string& path);
  /// The same from the text of a rule file; `source` names it in error messages.
  static Result<ContentPolicyEnforcer> parse(std::string_view json_text,
                                             std::string_view source = "<policy>");
  /// From rules built in code. Errors (invalid_argument) name the rule by index and id.
  static Result<ContentPolicyEnforcer> create(std::vector<PolicyRule> rules);

  /// Matches the prompt (any bytes; invalid UTF-8 sequences count as non-word characters) against every rule
  /// in one pass. Time is linear in the prompt's length. Never throws for any prompt.
  Verdict check(std::string_view prompt) const;

  /// check(), then one `policy.violation` event per violation in `logger` (prompt_hash, rule_id, rule_name,
  /// severity, action "rejected" or "flagged", request_id, matcher, and the members set in `context`). The
  /// prompt's text is never logged. Returns the verdict: reject the request when `reject()` is true. Returns
  /// an error, and the request should then be rejected too (fail closed), when an event could not be logged
  /// or the hasher returned a malformed hash; events logged before the failure stay logged.
  Result<Verdict> enforce(std::string_view prompt, std::string_view request_id, AuditLogger& logger,
                          const events::Context& context = {}) const;

  /// Logs `safety_check.completed` for a prompt the safety checker looked at: request_id, prompt_hash (this
  /// object's hasher, so it correlates with the policy events of the same prompt), has_nsfw_concepts (one
  /// flag or one per image), safety_checker_version when non-empty, action, and the members set in `context`.
  /// Errors: invalid_argument (empty request_id, malformed hash), and whatever AuditLogger::log returns.
  Status log_safety_check(std::string_view prompt, std::string_view request_id, AuditLogger& logger,
                          const events::NsfwFlags& has_nsfw_concepts, events::SafetyAction action,
                          std::string_view safety_checker_version = {},
                          const events::Context& context = {}) const;

  /// The prompt_hash this object logs for `prompt`.
  std::string hash_prompt(std::string_view prompt) const;
  /// Replaces the hasher (default: sha256_prompt_hash). An empty function restores the default.
  void set_prompt_hasher(PromptHasher hasher);

  const std::vector<PolicyRule>& rules() const noexcept { return rules_; }

 private:
  ContentPolicyEnforcer() = default;

  std::vector<PolicyRule> rules_;
  std::shared_ptr<const detail::CompiledPolicy> compiled_;
  PromptHasher hasher_;
};

/// Logs `safety_check.completed` with a prompt hash the caller computed ("sha256:<hex>" or
/// "hmac-sha256:<hex>"). Errors as ContentPolicyEnforcer::log_safety_check.
Status log_safety_check(AuditLogger& logger, std::string_view request_id, std::string_view prompt_hash,
                        const events::NsfwFlags& has_nsfw_concepts, events::SafetyAction action,
                        std::string_view safety_checker_version = {}, const events::Context& context = {});

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/content_policy-inl.hpp"
#endif
