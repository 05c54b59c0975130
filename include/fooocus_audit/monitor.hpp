// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file monitor.hpp
/// Monitor: the rule engine of docs/monitoring.md. Rules (JSON) count events over sliding windows (`threshold`),
/// compare a group's short-window rate with its own daily baseline (`baseline`) or notice a value never seen
/// before for a key (`new_value`). The same engine runs live inside AuditLogger (LoggerOptions::monitor: alerts
/// are sealed into the log as alert.raised records right after the record that triggered them) and offline over
/// a log (Monitor::replay, `fooocus-audit monitor`), with the same alerts: time is always the records' sealed
/// `ts`, never the wall clock. Groups are always keyed by tenant_id as well (tenant isolation).
///
/// Cost: one hash lookup of the event_type for events no rule names; O(1) amortized per matching event and rule.
/// Memory is bounded by each rule's caps (max_groups, max_window_events, max_values; docs/monitoring.md §6).

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/common.hpp"
#include "fooocus_audit/events.hpp"
#include "fooocus_audit/generation_event.hpp"

namespace fooocus_audit {

enum class RuleKind {
  threshold,  ///< more than `threshold` matching events of a group within `window_seconds`
  baseline,   ///< a group's count within `window_seconds` above `factor` x its typical day
  new_value,  ///< a value of `value_field` never seen before for the group (the key)
};
std::string_view to_string(RuleKind k) noexcept;

/// One member of a rule's `where`: a test on one (dotted) field of the event.
struct RuleCondition {
  enum class Op {
    equals,    ///< the field equals values[0] (JSON equality; 3 == 3.0)
    in,        ///< the field equals one of values
    exists,    ///< the field is present and not null (== flag)
    any_true,  ///< the field is true, or an array holding true (== flag)
  };
  std::string field;
  Op op = Op::equals;
  std::vector<nlohmann::json> values;
  bool flag = true;
};

/// A rule as docs/monitoring.md §2 describes its JSON form. Members that do not apply to the kind keep their
/// defaults (the parser refuses them in the JSON).
struct MonitorRule {
  std::string name;  ///< [a-z0-9_.-]{1,64}, unique in a rule set
  RuleKind kind = RuleKind::threshold;
  events::Severity severity = events::Severity::medium;
  std::string description;
  std::string action;                    ///< what a human should do ("alert_security_team"); copied into alerts
  std::vector<std::string> event_types;  ///< one or more; never log.* or alert.raised
  std::vector<RuleCondition> where;      ///< all must hold
  std::vector<std::string> group_by;     ///< fields; tenant_id is always added implicitly
  std::int64_t window_seconds = 300;     ///< threshold, baseline: the sliding window [t - W, t]
  std::uint64_t threshold = 10;          ///< threshold: alert when the count is above this
  double factor = 2.0;                   ///< baseline: alert when the count is above factor x typical
  std::int64_t baseline_days = 7;        ///< baseline: days of history averaged (1..366)
  std::int64_t min_history_days = 3;     ///< baseline: no alert before this many complete days of history
  std::uint64_t min_count = 1;           ///< baseline: no alert below this count in the window
  std::string value_field;               ///< new_value: the field whose values are learned per group
  std::size_t max_values = 64;           ///< new_value: values remembered per group (least recently seen goes)
  std::int64_t learning_seconds = 0;     ///< new_value: after a group's first sighting, values are learned silently
  std::int64_t forget_after_seconds = 90 * 86400;  ///< new_value: a group idle longer is forgotten
  std::size_t max_groups = 100000;       ///< groups held; the least recently active one goes first
  std::size_t max_window_events = 1000000;  ///< timestamps held per group window (count saturates there)
};

/// An alert as the engine raises it. to_json() is the alert.raised event (docs/events.md §8.3).
struct Alert {
  std::string rule;
  RuleKind kind = RuleKind::threshold;
  events::Severity severity = events::Severity::medium;
  std::string action;
  std::string tenant_id;  ///< "" when the group's events carry none
  /// group_by field -> value. Values that look like key material (events::looks_like_key_material, which
  /// includes anything longer than 40 characters) appear as "sha256:<hex>" of the value.
  std::vector<std::pair<std::string, std::string>> group;
  double value = 0;                       ///< threshold/baseline: events in the window; new_value: values known
  std::optional<double> threshold;        ///< the limit exceeded (baseline: factor x typical)
  std::optional<double> baseline;         ///< baseline: the group's typical daily count
  std::optional<std::int64_t> window_seconds;
  std::string value_field, new_value;     ///< new_value rules (new_value sanitized like group values)
  std::uint64_t first_seq = 0, last_seq = 0;  ///< oldest event in the window, and the trigger
  std::int64_t ts_micros = 0;                 ///< the trigger's ts
  std::string message;
  nlohmann::json to_json() const;
};

/// What AuditLogger::log extracts on the caller's thread for the writer: per matching rule, the group key and
/// (new_value) the value. Empty for events no rule wants.
struct MonitorInput {
  struct Hit {
    std::uint32_t rule = 0;
    std::string key;    ///< encoded tenant + group values
    std::string value;  ///< new_value rules
  };
  std::vector<Hit> hits;
  bool empty() const noexcept { return hits.empty(); }
};

/// A Monitor's replay of a log (Monitor::replay).
struct MonitorReplay {
  VerifySummary summary;            ///< the verifier's report of the log read
  std::vector<Alert> alerts;        ///< raised by the replay, in log order
  struct Logged {
    std::uint64_t seq = 0;
    nlohmann::json event;  ///< the alert.raised event as written
  };
  std::vector<Logged> logged;          ///< alert.raised records of the log naming a rule of this monitor
  std::vector<std::size_t> missing;    ///< indices into alerts that the log does not hold
  std::vector<std::size_t> unexpected; ///< indices into logged that the replay did not raise
  std::uint64_t matched = 0;           ///< alerts found in the log
  std::uint64_t other_logged = 0;      ///< alert.raised records naming rules this monitor does not have
  std::uint64_t events = 0;            ///< records evaluated (event types some rule names)
  std::uint64_t sessions = 0;          ///< log.opened records (the state restarts at each, as live)
  bool consistent() const noexcept { return missing.empty() && unexpected.empty(); }
};

/// Thread safety: extract() and wants() are const and may run concurrently from any thread; observe(), reset()
/// and replay() mutate the state and must not run concurrently with each other. One live AuditLogger at a time
/// may use a Monitor (it calls reset() when it opens).
class Monitor {
 public:
  /// Checks and compiles the rules. Errors: invalid_argument naming the rule and member.
  static Result<std::shared_ptr<Monitor>> create(std::vector<MonitorRule> rules);
  /// The seed article's §8.3 rules (docs/monitoring.md §4; share/monitoring/default-rules.json holds the same).
  static std::vector<MonitorRule> default_rules();
  /// A rules document: {"rules":[...]} or a bare array. Errors name the rule (by name or index) and member.
  static Result<std::vector<MonitorRule>> parse_rules(std::string_view json_text);
  static Result<std::vector<MonitorRule>> load_rules(const std::string& path);
  /// The JSON form of rules (parse_rules(rules_to_json(r).dump()) gives r back).
  static nlohmann::json rules_to_json(const std::vector<MonitorRule>& rules);

  const std::vector<MonitorRule>& rules() const noexcept { return rules_; }
  /// True when some rule names this event type.
  bool wants(std::string_view event_type) const;

  /// The fields rules need from an event (cheap and empty when no rule names its event_type).
  MonitorInput extract(const nlohmann::json& event) const;
  MonitorInput extract(const GenerationEvent& event) const;
  /// The same from a record's event bytes (parsed only when some rule names the type).
  MonitorInput extract(std::string_view event_type, std::string_view event_json) const;

  /// Feeds one sealed record (its seq and ts) and returns the alerts it raises, in rule order. A ts before the
  /// previous one counts as the previous one.
  std::vector<Alert> observe(const MonitorInput& input, std::uint64_t seq, std::int64_t ts_micros);
  /// Forgets all state (groups, windows, learned values).
  void reset();

  /// Replays a log (directory or segment) through a ChainVerifier (verify.on_record must be empty): resets the
  /// state, restarts it at each log.opened record (a live monitor starts empty with each writer session), skips
  /// log.* and alert.raised records as inputs, and compares the alerts it raises with the alert.raised records
  /// found (exact JSON equality). Errors: those of ChainVerifier::verify_path, invalid_argument.
  Result<MonitorReplay> replay(const std::string& path, VerifyOptions verify = {});

  /// Groups held over all rules (for tests and benchmarks).
  std::size_t groups() const noexcept;

  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

 private:
  Monitor() = default;
  struct Compiled;  // rules_ ready to evaluate: field paths split, rules indexed by event_type
  struct State;     // groups, windows, learned values
  const std::vector<std::uint32_t>* rules_for(std::string_view event_type) const;
  /// lookup(path) -> const nlohmann::json* (null: absent); the same for a JSON tree and a GenerationEvent.
  template <typename Lookup>
  void extract_with(Lookup&& lookup, const std::vector<std::uint32_t>& rules, MonitorInput& out) const;

  std::vector<MonitorRule> rules_;
  std::unique_ptr<const Compiled> compiled_;
  std::unique_ptr<State> state_;
  std::int64_t last_ts_ = 0;
  bool have_ts_ = false;
};

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/monitor-inl.hpp"
#endif
