// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/monitor.hpp"
#endif

#include <fmt/format.h>

#include <cmath>
#include <deque>
#include <limits>
#include <unordered_set>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit {

namespace monitor_impl {

using nlohmann::json;

constexpr std::int64_t kMicrosPerSecond = 1000000;
constexpr std::int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;
constexpr std::int64_t kMaxWindowSeconds = 366 * 86400;
constexpr std::size_t kMaxRules = 1000;

inline std::vector<std::string> split_path(const std::string& field) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = field.find('.', start);
    out.push_back(field.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

inline const json* lookup(const json& event, const std::vector<std::string>& path) {
  const json* v = &event;
  for (const std::string& seg : path) {
    if (!v->is_object()) return nullptr;
    const auto it = v->find(seg);
    if (it == v->end()) return nullptr;
    v = &*it;
  }
  return v;
}

// A scalar as a group key or learned value: strings as they are, numbers and booleans as canonical JSON (so 3.0
// live and 3 read back from the log agree). Null, objects and arrays have no such form.
inline bool render(const json* v, std::string& out) {
  if (v == nullptr) return false;
  if (v->is_string()) {
    out = v->get_ref<const std::string&>();
    return true;
  }
  if (v->is_number() || v->is_boolean()) {
    try {
      out = jcs::serialize(*v);
    } catch (const jcs::Error&) {
      return false;
    }
    return true;
  }
  return false;
}

inline void append_component(std::string& key, std::string_view c) {
  key.append(std::to_string(c.size())).push_back(':');
  key.append(c);
}

inline std::vector<std::string> decode_key(std::string_view key) {
  std::vector<std::string> out;
  while (!key.empty()) {
    const std::size_t colon = key.find(':');
    const std::size_t n = std::stoull(std::string(key.substr(0, colon)));
    out.emplace_back(key.substr(colon + 1, n));
    key.remove_prefix(colon + 1 + n);
  }
  return out;
}

// A member of GenerationEvent::to_json() read from the struct: its value, absent, or other (ask to_json()).
enum class Member { value, absent, other };
inline Member generation_member(const GenerationEvent& e, const std::vector<std::string>& path, json& out) {
  const std::string& k = path[0];
  if (path.size() == 1) {
    for (const auto& [name, v] : {std::pair<const char*, const std::string*>{"event_type", &e.event_type},
                                  {"version", &e.version}, {"timestamp", &e.timestamp}, {"request_id", &e.request_id},
                                  {"user_id", &e.user_id}, {"tenant_id", &e.tenant_id}, {"session_id", &e.session_id},
                                  {"ip_address", &e.ip_address}, {"user_agent", &e.user_agent}, {"result", &e.result}})
      if (k == name) {
        out = *v;
        return Member::value;
      }
  } else if (path.size() == 2) {
    const std::string& m = path[1];
    if (k == "processing") {
      const GenerationEvent::Processing& p = e.processing;
      if (m == "worker_id") out = p.worker_id;
      else if (m == "model_version") out = p.model_version;
      else if (m == "refiner_model") out = p.refiner_model;
      else if (m == "queue_wait_ms") out = p.queue_wait_ms;
      else if (m == "generation_duration_ms") out = p.generation_duration_ms;
      else if (m == "retry_count") out = p.retry_count;
      else return Member::absent;
      return Member::value;
    }
    if (k == "safety") {
      if (m == "has_nsfw_concepts") out = e.safety.has_nsfw_concepts;
      else if (m == "safety_checker_version") out = e.safety.safety_checker_version;
      else return Member::absent;
      return Member::value;
    }
    if (k == "request") {
      const GenerationEvent::Request& r = e.request;
      if (m == "performance") out = r.performance;
      else if (m == "aspect_ratio") out = r.aspect_ratio;
      else if (m == "prompt_hash") out = r.prompt_hash;
      else if (m == "num_images") out = r.num_images;
      else if (m == "enable_safety_checker") out = r.enable_safety_checker;
      else return Member::other;
      return Member::value;
    }
  }
  if (k == "outputs" || k == "request" || k == "processing" || k == "safety") return Member::other;
  return Member::absent;  // not a member of the event, or a path below one of its strings
}

inline std::string sanitize(const std::string& v) {
  if (!events::looks_like_key_material(v)) return v;
  return "sha256:" + detail::to_hex(detail::sha256(v));
}

inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

inline bool any_true(const json* v) {
  if (v == nullptr) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_array())
    for (const json& e : *v)
      if (e.is_boolean() && e.get<bool>()) return true;
  return false;
}

inline bool holds(const RuleCondition& c, const json* v) {
  switch (c.op) {
    case RuleCondition::Op::equals:
      return v != nullptr && !c.values.empty() && *v == c.values.front();
    case RuleCondition::Op::in:
      if (v == nullptr) return false;
      for (const json& w : c.values)
        if (*v == w) return true;
      return false;
    case RuleCondition::Op::exists:
      return (v != nullptr && !v->is_null()) == c.flag;
    case RuleCondition::Op::any_true:
      return any_true(v) == c.flag;
  }
  return false;
}

// --- parsing rules ------------------------------------------------------------------------------------------

inline bool valid_rule_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

inline bool valid_field(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  if (s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos) return false;
  return true;
}

class RuleParser {
 public:
  RuleParser(std::string label) : label_(std::move(label)) {}

  Status fail(std::string_view member, std::string_view what) const {
    return {Code::invalid_argument, fmt::format("{}: {}: {}", label_, member, what)};
  }
  void relabel(std::string label) { label_ = std::move(label); }

  Status integer(const json& v, std::string_view member, std::int64_t min, std::int64_t max, std::int64_t* out) const {
    std::int64_t n = 0;
    if (v.is_number_unsigned()) {
      if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) return range(member, min, max);
      n = static_cast<std::int64_t>(v.get<std::uint64_t>());
    } else if (v.is_number_integer()) {
      n = v.get<std::int64_t>();
    } else if (v.is_number_float() && std::isfinite(v.get<double>()) && std::trunc(v.get<double>()) == v.get<double>() &&
               std::fabs(v.get<double>()) < 9.0e15) {
      n = static_cast<std::int64_t>(v.get<double>());
    } else {
      return range(member, min, max);
    }
    if (n < min || n > max) return range(member, min, max);
    *out = n;
    return {};
  }

  Status string(const json& v, std::string_view member, std::string* out, bool non_empty = true) const {
    if (!v.is_string()) return fail(member, fmt::format("must be a string, got {}", v.type_name()));
    if (non_empty && v.get_ref<const std::string&>().empty()) return fail(member, "must not be empty");
    *out = v.get<std::string>();
    return {};
  }

  Status strings(const json& v, std::string_view member, std::vector<std::string>* out, bool allow_empty) const {
    out->clear();
    if (v.is_string()) {
      out->push_back(v.get<std::string>());
    } else if (v.is_array()) {
      for (const json& e : v) {
        if (!e.is_string()) return fail(member, "must be a string or an array of strings");
        out->push_back(e.get<std::string>());
      }
    } else {
      return fail(member, "must be a string or an array of strings");
    }
    if (out->empty() && !allow_empty) return fail(member, "must name at least one");
    return {};
  }

 private:
  Status range(std::string_view member, std::int64_t min, std::int64_t max) const {
    return fail(member, fmt::format("must be an integer from {} to {}", min, max));
  }
  std::string label_;
};

inline Result<RuleCondition> parse_condition(const RuleParser& p, const std::string& field, const json& spec) {
  const std::string member = "where." + field;
  if (!valid_field(field)) return p.fail(member, "a field is a dotted path of member names");
  RuleCondition c;
  c.field = field;
  if (!spec.is_object()) {
    if (!(spec.is_string() || spec.is_number() || spec.is_boolean()))
      return p.fail(member, "must be a string, number or boolean (equality), or an operator object");
    if (spec.is_number_float() && !std::isfinite(spec.get<double>())) return p.fail(member, "must be finite");
    c.op = RuleCondition::Op::equals;
    c.values.push_back(spec);
    return c;
  }
  if (spec.size() != 1)
    return p.fail(member, "an operator object has exactly one of equals, in, exists, any_true");
  const auto first = spec.begin();
  const std::string op = first.key();
  const json& arg = first.value();
  if (op == "equals") {
    if (!(arg.is_string() || arg.is_number() || arg.is_boolean()))
      return p.fail(member + ".equals", "must be a string, number or boolean");
    c.op = RuleCondition::Op::equals;
    c.values.push_back(arg);
  } else if (op == "in") {
    if (!arg.is_array() || arg.empty()) return p.fail(member + ".in", "must be a non-empty array");
    for (const json& e : arg)
      if (!(e.is_string() || e.is_number() || e.is_boolean()))
        return p.fail(member + ".in", "elements must be strings, numbers or booleans");
    c.op = RuleCondition::Op::in;
    c.values.assign(arg.begin(), arg.end());
  } else if (op == "exists" || op == "any_true") {
    if (!arg.is_boolean()) return p.fail(member + "." + op, "must be a boolean");
    c.op = op == "exists" ? RuleCondition::Op::exists : RuleCondition::Op::any_true;
    c.flag = arg.get<bool>();
  } else {
    return p.fail(member, "unknown operator (equals, in, exists, any_true)");
  }
  return c;
}

inline Result<MonitorRule> parse_rule(const json& v, std::size_t index) {
  RuleParser p(fmt::format("rules[{}]", index));
  if (!v.is_object()) return p.fail("rule", "must be an object");
  MonitorRule r;
  const auto name = v.find("name");
  if (name == v.end()) return p.fail("name", "required string is missing");
  if (Status s = p.string(*name, "name", &r.name); !s) return s;
  if (!valid_rule_name(r.name)) return p.fail("name", "must be 1-64 characters of [a-z0-9_.-]");
  p.relabel(fmt::format("rule '{}'", r.name));

  const auto kind = v.find("kind");
  if (kind == v.end()) return p.fail("kind", "required string is missing");
  if (*kind == "threshold")
    r.kind = RuleKind::threshold;
  else if (*kind == "baseline")
    r.kind = RuleKind::baseline;
  else if (*kind == "new_value")
    r.kind = RuleKind::new_value;
  else
    return p.fail("kind", "must be one of threshold|baseline|new_value");

  static const std::vector<std::string> common{"name", "kind", "severity", "description", "action", "event_types",
                                               "where", "group_by", "max_groups"};
  std::vector<std::string> allowed = common;
  std::vector<std::string> required{"event_types"};
  switch (r.kind) {
    case RuleKind::threshold:
      allowed.insert(allowed.end(), {"window_seconds", "threshold", "max_window_events"});
      required.insert(required.end(), {"window_seconds", "threshold"});
      break;
    case RuleKind::baseline:
      allowed.insert(allowed.end(), {"window_seconds", "factor", "baseline_days", "min_history_days", "min_count",
                                     "max_window_events"});
      required.insert(required.end(), {"window_seconds", "factor"});
      break;
    case RuleKind::new_value:
      allowed.insert(allowed.end(), {"value_field", "max_values", "learning_seconds", "forget_after_seconds"});
      required.insert(required.end(), {"value_field", "group_by"});
      break;
  }
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string& k = it.key();
    bool ok = false;
    for (const std::string& a : allowed) ok = ok || a == k;
    if (!ok) return p.fail(k, fmt::format("unknown member for a {} rule", kind->get<std::string>()));
  }
  for (const std::string& k : required)
    if (!v.contains(k)) return p.fail(k, "required member is missing");

  if (const auto it = v.find("severity"); it != v.end()) {
    std::string s;
    if (Status st = p.string(*it, "severity", &s); !st) return st;
    if (s == "low")
      r.severity = events::Severity::low;
    else if (s == "medium")
      r.severity = events::Severity::medium;
    else if (s == "high")
      r.severity = events::Severity::high;
    else if (s == "critical")
      r.severity = events::Severity::critical;
    else
      return p.fail("severity", "must be one of low|medium|high|critical");
  }
  if (const auto it = v.find("description"); it != v.end())
    if (Status s = p.string(*it, "description", &r.description, false); !s) return s;
  if (const auto it = v.find("action"); it != v.end())
    if (Status s = p.string(*it, "action", &r.action, false); !s) return s;

  if (Status s = p.strings(v.at("event_types"), "event_types", &r.event_types, false); !s) return s;
  for (const std::string& t : r.event_types) {
    if (!record::valid_event_type(t))
      return p.fail("event_types", "an event type is 1-128 characters of [a-z0-9_.-] starting with a letter");
    if (t.rfind("log.", 0) == 0 || t == "alert.raised")
      return p.fail("event_types", "log.* and alert.raised records are never monitor inputs");
  }

  if (const auto it = v.find("where"); it != v.end()) {
    if (!it->is_object()) return p.fail("where", "must be an object: field -> value or operator");
    for (auto w = it->begin(); w != it->end(); ++w) {
      Result<RuleCondition> c = parse_condition(p, w.key(), w.value());
      if (!c) return c.status();
      r.where.push_back(std::move(c.value()));
    }
  }
  if (const auto it = v.find("group_by"); it != v.end()) {
    if (Status s = p.strings(*it, "group_by", &r.group_by, r.kind != RuleKind::new_value); !s) return s;
    for (std::size_t i = 0; i < r.group_by.size(); ++i) {
      const std::string& f = r.group_by[i];
      if (!valid_field(f)) return p.fail("group_by", "a field is a dotted path of member names");
      if (f == "tenant_id") return p.fail("group_by", "tenant_id is always part of the group; do not list it");
      for (std::size_t j = 0; j < i; ++j)
        if (r.group_by[j] == f) return p.fail("group_by", "a field is listed twice");
    }
    if (r.group_by.size() > 8) return p.fail("group_by", "at most 8 fields");
  }
  std::int64_t n = 0;
  if (const auto it = v.find("max_groups"); it != v.end()) {
    if (Status s = p.integer(*it, "max_groups", 1, 10000000, &n); !s) return s;
    r.max_groups = static_cast<std::size_t>(n);
  }
  if (const auto it = v.find("window_seconds"); it != v.end()) {
    if (Status s = p.integer(*it, "window_seconds", 1, kMaxWindowSeconds, &r.window_seconds); !s) return s;
  }
  if (const auto it = v.find("threshold"); it != v.end()) {
    if (Status s = p.integer(*it, "threshold", 0, 99999999, &n); !s) return s;
    r.threshold = static_cast<std::uint64_t>(n);
  }
  if (const auto it = v.find("factor"); it != v.end()) {
    if (!it->is_number() || !std::isfinite(it->get<double>()) || it->get<double>() <= 0 || it->get<double>() > 1e6)
      return p.fail("factor", "must be a number above 0 and at most 1000000");
    r.factor = it->get<double>();
  }
  if (const auto it = v.find("baseline_days"); it != v.end())
    if (Status s = p.integer(*it, "baseline_days", 1, 366, &r.baseline_days); !s) return s;
  if (const auto it = v.find("min_history_days"); it != v.end())
    if (Status s = p.integer(*it, "min_history_days", 1, 366, &r.min_history_days); !s) return s;
  if (r.kind == RuleKind::baseline) {
    if (!v.contains("min_history_days")) r.min_history_days = std::min<std::int64_t>(3, r.baseline_days);
    if (r.min_history_days > r.baseline_days) return p.fail("min_history_days", "must be at most baseline_days");
    if (r.window_seconds > r.baseline_days * 86400)
      return p.fail("window_seconds", "must be at most baseline_days days");
  }
  if (const auto it = v.find("min_count"); it != v.end()) {
    if (Status s = p.integer(*it, "min_count", 1, 99999999, &n); !s) return s;
    r.min_count = static_cast<std::uint64_t>(n);
  }
  if (const auto it = v.find("max_window_events"); it != v.end()) {
    if (Status s = p.integer(*it, "max_window_events", 1, 100000000, &n); !s) return s;
    r.max_window_events = static_cast<std::size_t>(n);
  }
  if (r.kind == RuleKind::threshold && r.max_window_events <= r.threshold)
    return p.fail("max_window_events", "must be above threshold");
  if (r.kind == RuleKind::baseline && r.max_window_events < r.min_count)
    return p.fail("max_window_events", "must be at least min_count");
  if (const auto it = v.find("value_field"); it != v.end()) {
    if (Status s = p.string(*it, "value_field", &r.value_field); !s) return s;
    if (!valid_field(r.value_field)) return p.fail("value_field", "a field is a dotted path of member names");
    for (const std::string& g : r.group_by)
      if (g == r.value_field) return p.fail("value_field", "must not be one of group_by");
  }
  if (const auto it = v.find("max_values"); it != v.end()) {
    if (Status s = p.integer(*it, "max_values", 1, 1000000, &n); !s) return s;
    r.max_values = static_cast<std::size_t>(n);
  }
  if (const auto it = v.find("learning_seconds"); it != v.end())
    if (Status s = p.integer(*it, "learning_seconds", 0, 10 * kMaxWindowSeconds, &r.learning_seconds); !s) return s;
  if (const auto it = v.find("forget_after_seconds"); it != v.end())
    if (Status s = p.integer(*it, "forget_after_seconds", 1, 10 * kMaxWindowSeconds, &r.forget_after_seconds); !s)
      return s;
  return r;
}

inline std::string_view severity_name(events::Severity s) { return events::to_string(s); }

}  // namespace monitor_impl

// --- compiled rules and state ---------------------------------------------------------------------------------

struct Monitor::Compiled {
  struct Rule {
    std::vector<std::vector<std::string>> where_paths;
    std::vector<std::vector<std::string>> group_paths;
    std::vector<std::string> value_path;
    std::int64_t window_micros = 0;
    std::int64_t horizon_micros = 0;  // a group idle longer than this is forgotten
  };
  std::vector<Rule> rules;
  std::unordered_map<std::string_view, std::vector<std::uint32_t>> by_type;  // views into rules_
  std::vector<std::string> tenant_path{"tenant_id"};
};

struct Monitor::State {
  struct Group {
    std::string key;
    std::int64_t first_ts = 0, last_ts = 0;
    std::int64_t first_day = 0;
    std::int64_t quiet_until = std::numeric_limits<std::int64_t>::min();  // next alert needs ts > quiet_until
    std::deque<std::pair<std::int64_t, std::uint64_t>> window;            // (ts, seq), oldest first
    std::vector<std::pair<std::int64_t, std::uint64_t>> days;             // baseline: (day, count) ring
    std::list<std::string> values;                                        // new_value: most recent first
    std::unordered_map<std::string_view, std::list<std::string>::iterator> value_index;
  };
  struct RuleState {
    std::list<Group> lru;  // most recently active first; ts never decreases, so also newest last_ts first
    std::unordered_map<std::string_view, std::list<Group>::iterator> groups;  // views into Group::key
  };
  std::vector<RuleState> rules;
};

FA_INLINE std::string_view to_string(RuleKind k) noexcept {
  switch (k) {
    case RuleKind::threshold: return "threshold";
    case RuleKind::baseline: return "baseline";
    case RuleKind::new_value: return "new_value";
  }
  return "threshold";
}

FA_INLINE Monitor::~Monitor() = default;

FA_INLINE Result<std::shared_ptr<Monitor>> Monitor::create(std::vector<MonitorRule> rules) {
  using namespace monitor_impl;
  if (rules.size() > kMaxRules) return Status(Code::invalid_argument, fmt::format("at most {} rules", kMaxRules));
  // Checks the struct form with the parser's rules: the JSON round trip is the one definition of a valid rule.
  std::unordered_set<std::string> names;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const json j = rules_to_json({rules[i]})["rules"][0];
    Result<MonitorRule> again = parse_rule(j, i);
    if (!again) return again.status();
    if (!names.insert(rules[i].name).second)
      return Status(Code::invalid_argument, fmt::format("rule '{}': name: used by two rules", rules[i].name));
  }
  std::shared_ptr<Monitor> m(new Monitor());
  m->rules_ = std::move(rules);
  auto c = std::make_unique<Compiled>();
  for (std::uint32_t i = 0; i < m->rules_.size(); ++i) {
    const MonitorRule& r = m->rules_[i];
    Compiled::Rule cr;
    for (const RuleCondition& w : r.where) cr.where_paths.push_back(split_path(w.field));
    for (const std::string& g : r.group_by) cr.group_paths.push_back(split_path(g));
    if (!r.value_field.empty()) cr.value_path = split_path(r.value_field);
    cr.window_micros = r.window_seconds * kMicrosPerSecond;
    switch (r.kind) {
      case RuleKind::threshold: cr.horizon_micros = cr.window_micros; break;
      case RuleKind::baseline: cr.horizon_micros = r.baseline_days * kMicrosPerDay; break;
      case RuleKind::new_value: cr.horizon_micros = r.forget_after_seconds * kMicrosPerSecond; break;
    }
    c->rules.push_back(std::move(cr));
    for (const std::string& t : r.event_types) {
      auto& list = c->by_type[t];
      if (list.empty() || list.back() != i) list.push_back(i);
    }
  }
  m->compiled_ = std::move(c);
  m->state_ = std::make_unique<State>();
  m->reset();
  return m;
}

FA_INLINE void Monitor::reset() {
  state_->rules.clear();
  state_->rules.resize(rules_.size());
  last_ts_ = 0;
  have_ts_ = false;
}

FA_INLINE std::size_t Monitor::groups() const noexcept {
  std::size_t n = 0;
  for (const State::RuleState& r : state_->rules) n += r.groups.size();
  return n;
}

FA_INLINE const std::vector<std::uint32_t>* Monitor::rules_for(std::string_view event_type) const {
  const auto it = compiled_->by_type.find(event_type);
  return it == compiled_->by_type.end() ? nullptr : &it->second;
}

FA_INLINE bool Monitor::wants(std::string_view event_type) const { return rules_for(event_type) != nullptr; }

template <typename Lookup>
void Monitor::extract_with(Lookup&& lookup, const std::vector<std::uint32_t>& rules, MonitorInput& out) const {
  using namespace monitor_impl;
  std::string tenant, part;
  (void)render(lookup(compiled_->tenant_path), tenant);
  for (std::uint32_t i : rules) {
    const MonitorRule& r = rules_[i];
    const Compiled::Rule& cr = compiled_->rules[i];
    bool ok = true;
    for (std::size_t w = 0; ok && w < r.where.size(); ++w) ok = holds(r.where[w], lookup(cr.where_paths[w]));
    if (!ok) continue;
    MonitorInput::Hit hit;
    hit.rule = i;
    append_component(hit.key, tenant);
    for (std::size_t g = 0; ok && g < cr.group_paths.size(); ++g) {
      ok = render(lookup(cr.group_paths[g]), part) && !part.empty();
      if (ok) append_component(hit.key, part);
    }
    if (!ok) continue;  // a group field is missing: the event does not count for this rule
    if (r.kind == RuleKind::new_value && (!render(lookup(cr.value_path), hit.value) || hit.value.empty()))
      continue;
    out.hits.push_back(std::move(hit));
  }
}

FA_INLINE MonitorInput Monitor::extract(const nlohmann::json& event) const {
  MonitorInput out;
  if (!event.is_object()) return out;
  const auto it = event.find("event_type");
  if (it == event.end() || !it->is_string()) return out;
  if (const std::vector<std::uint32_t>* rules = rules_for(it->get_ref<const std::string&>()))
    extract_with([&](const std::vector<std::string>& path) { return monitor_impl::lookup(event, path); }, *rules, out);
  return out;
}

FA_INLINE MonitorInput Monitor::extract(const GenerationEvent& event) const {
  using monitor_impl::Member;
  MonitorInput out;
  const std::vector<std::uint32_t>* rules = rules_for(event.event_type);
  if (rules == nullptr) return out;
  // The scalar members rules usually name are read from the struct; anything else (arrays, prompts) from its
  // JSON form, which holds the same values.
  std::deque<nlohmann::json> values;  // stable addresses for the pointers handed out
  bool fallback = false;
  extract_with(
      [&](const std::vector<std::string>& path) -> const nlohmann::json* {
        values.emplace_back();
        const Member m = monitor_impl::generation_member(event, path, values.back());
        if (m == Member::other) fallback = true;
        return m == Member::value ? &values.back() : nullptr;
      },
      *rules, out);
  if (!fallback) return out;
  const nlohmann::json tree = event.to_json();
  out.hits.clear();
  extract_with([&](const std::vector<std::string>& path) { return monitor_impl::lookup(tree, path); }, *rules, out);
  return out;
}

FA_INLINE MonitorInput Monitor::extract(std::string_view event_type, std::string_view event_json) const {
  MonitorInput out;
  const std::vector<std::uint32_t>* rules = rules_for(event_type);
  if (rules == nullptr) return out;
  const nlohmann::json ev = nlohmann::json::parse(event_json, nullptr, /*allow_exceptions=*/false);
  if (!ev.is_object()) return out;
  extract_with([&](const std::vector<std::string>& path) { return monitor_impl::lookup(ev, path); }, *rules, out);
  return out;
}

FA_INLINE std::vector<Alert> Monitor::observe(const MonitorInput& input, std::uint64_t seq, std::int64_t ts) {
  using namespace monitor_impl;
  std::vector<Alert> alerts;
  if (input.hits.empty()) return alerts;
  if (have_ts_ && ts < last_ts_) ts = last_ts_;  // the log's time never goes back; a tampered one is clamped
  last_ts_ = ts;
  have_ts_ = true;
  for (const MonitorInput::Hit& hit : input.hits) {
    if (hit.rule >= rules_.size()) continue;
    const MonitorRule& r = rules_[hit.rule];
    const Compiled::Rule& cr = compiled_->rules[hit.rule];
    State::RuleState& rs = state_->rules[hit.rule];
    // Forget idle groups (the list is ordered by last activity, so they are at its end): amortized O(1).
    while (!rs.lru.empty() && rs.lru.back().last_ts < ts - cr.horizon_micros) {
      rs.groups.erase(rs.lru.back().key);
      rs.lru.pop_back();
    }
    State::Group* g = nullptr;
    bool fresh = false;
    if (const auto it = rs.groups.find(hit.key); it != rs.groups.end()) {
      rs.lru.splice(rs.lru.begin(), rs.lru, it->second);
      g = &*it->second;
    } else {
      if (rs.groups.size() >= r.max_groups) {  // cap: the least recently active group goes
        rs.groups.erase(rs.lru.back().key);
        rs.lru.pop_back();
      }
      rs.lru.emplace_front();
      g = &rs.lru.front();
      g->key = hit.key;
      g->first_ts = ts;
      g->first_day = floor_div(ts, kMicrosPerDay);
      rs.groups.emplace(g->key, rs.lru.begin());
      fresh = true;
    }
    g->last_ts = ts;

    Alert a;
    bool raise = false;
    if (r.kind == RuleKind::threshold || r.kind == RuleKind::baseline) {
      g->window.emplace_back(ts, seq);
      while (g->window.front().first < ts - cr.window_micros) g->window.pop_front();
      while (g->window.size() > r.max_window_events) g->window.pop_front();
      const auto count = static_cast<std::uint64_t>(g->window.size());
      if (r.kind == RuleKind::threshold) {
        if (count > r.threshold && ts > g->quiet_until) {
          raise = true;
          a.threshold = static_cast<double>(r.threshold);
          a.message = fmt::format("{} matching events within {} s, above the threshold of {}", count,
                                  r.window_seconds, r.threshold);
        }
      } else {
        const std::int64_t day = floor_div(ts, kMicrosPerDay);
        const auto slots = static_cast<std::size_t>(r.baseline_days + 1);
        if (g->days.size() != slots) g->days.assign(slots, {std::numeric_limits<std::int64_t>::min(), 0});
        auto& today = g->days[static_cast<std::size_t>(((day % static_cast<std::int64_t>(slots)) +
                                                        static_cast<std::int64_t>(slots)) %
                                                       static_cast<std::int64_t>(slots))];
        if (today.first != day) today = {day, 0};
        ++today.second;
        const std::int64_t history = std::min(r.baseline_days, day - g->first_day);
        if (history >= r.min_history_days && count >= r.min_count && ts > g->quiet_until) {
          std::uint64_t sum = 0;
          for (const auto& d : g->days)
            if (d.first >= day - history && d.first < day) sum += d.second;
          const double typical = static_cast<double>(sum) / static_cast<double>(history);
          const double limit = r.factor * typical;
          if (static_cast<double>(count) > limit) {
            raise = true;
            a.threshold = limit;
            a.baseline = typical;
            a.message = fmt::format("{} matching events within {} s, above {} x the group's typical daily count "
                                    "({} over the previous {} days)",
                                    count, r.window_seconds, r.factor, typical, history);
          }
        }
      }
      if (raise) {
        g->quiet_until = ts + cr.window_micros;
        a.value = static_cast<double>(count);
        a.window_seconds = r.window_seconds;
        a.first_seq = g->window.front().second;
      }
    } else {  // new_value
      const auto known = g->value_index.find(hit.value);
      if (known != g->value_index.end()) {
        g->values.splice(g->values.begin(), g->values, known->second);
      } else {
        if (g->values.size() >= r.max_values) {  // cap: the least recently seen value goes
          g->value_index.erase(g->values.back());
          g->values.pop_back();
        }
        g->values.push_front(hit.value);
        g->value_index.emplace(g->values.front(), g->values.begin());
        // Learning: the first sighting of a group, and what follows within learning_seconds, raise nothing.
        if (!fresh && ts - g->first_ts >= r.learning_seconds * kMicrosPerSecond) {
          raise = true;
          a.value = static_cast<double>(g->values.size());
          a.value_field = r.value_field;
          a.new_value = sanitize(hit.value);
          a.first_seq = seq;
          a.message = fmt::format("{}: a value not seen before for this group ({} known)", r.value_field,
                                  g->values.size());
        }
      }
    }
    if (!raise) continue;
    a.rule = r.name;
    a.kind = r.kind;
    a.severity = r.severity;
    a.action = r.action;
    a.last_seq = seq;
    a.ts_micros = ts;
    const std::vector<std::string> parts = decode_key(g->key);
    a.tenant_id = parts.empty() ? std::string() : sanitize(parts[0]);
    for (std::size_t i = 0; i < r.group_by.size() && i + 1 < parts.size(); ++i)
      a.group.emplace_back(r.group_by[i], sanitize(parts[i + 1]));
    alerts.push_back(std::move(a));
  }
  return alerts;
}

FA_INLINE nlohmann::json Alert::to_json() const {
  nlohmann::json j = {{"event_type", "alert.raised"},
                      {"rule", rule},
                      {"severity", events::to_string(severity)},
                      {"kind", to_string(kind)},
                      {"value", value},
                      {"first_seq", first_seq},
                      {"last_seq", last_seq},
                      {"message", message}};
  nlohmann::json g = nlohmann::json::object();
  for (const auto& [k, v] : group) g[k] = v;
  j["group"] = std::move(g);
  if (threshold) j["threshold"] = *threshold;
  if (baseline) j["baseline"] = *baseline;
  if (window_seconds) j["window_seconds"] = *window_seconds;
  if (!action.empty()) j["action"] = action;
  if (!value_field.empty()) j["value_field"] = value_field;
  if (!new_value.empty()) j["new_value"] = new_value;
  if (!tenant_id.empty()) j["tenant_id"] = tenant_id;
  for (const auto& [k, v] : group)
    if (k == "user_id" || k == "ip_address") j[k] = v;
  if (value_field == "ip_address" && !new_value.empty()) j["ip_address"] = new_value;
  if (value_field == "user_id" && !new_value.empty()) j["user_id"] = new_value;
  return j;
}

// --- rules as JSON --------------------------------------------------------------------------------------------

FA_INLINE Result<std::vector<MonitorRule>> Monitor::parse_rules(std::string_view json_text) {
  using namespace monitor_impl;
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status(Code::invalid_argument, "rules: not valid JSON");
  const json* list = &doc;
  if (doc.is_object()) {
    for (auto it = doc.begin(); it != doc.end(); ++it) {
      const std::string& k = it.key();
      if (k != "rules" && k != "version" && k != "description")
        return Status(Code::invalid_argument, fmt::format("rules document: {}: unknown member", k));
    }
    if (const auto v = doc.find("version"); v != doc.end() && *v != 1)
      return Status(Code::invalid_argument, "rules document: version: must be 1");
    const auto it = doc.find("rules");
    if (it == doc.end()) return Status(Code::invalid_argument, "rules document: rules: required array is missing");
    list = &*it;
  }
  if (!list->is_array())
    return Status(Code::invalid_argument, "rules document: must be {\"rules\": [...]} or an array of rules");
  if (list->size() > kMaxRules) return Status(Code::invalid_argument, fmt::format("at most {} rules", kMaxRules));
  std::vector<MonitorRule> out;
  std::unordered_set<std::string> names;
  for (std::size_t i = 0; i < list->size(); ++i) {
    Result<MonitorRule> r = parse_rule((*list)[i], i);
    if (!r) return r.status();
    if (!names.insert(r->name).second)
      return Status(Code::invalid_argument, fmt::format("rule '{}' (rules[{}]): name: used by two rules", r->name, i));
    out.push_back(std::move(r.value()));
  }
  return out;
}

FA_INLINE Result<std::vector<MonitorRule>> Monitor::load_rules(const std::string& path) {
  Result<std::string> text = detail::read_file(path);
  if (!text) return text.status();
  Result<std::vector<MonitorRule>> r = parse_rules(text.value());
  if (!r) return Status(r.status().code(), fmt::format("{}: {}", path, r.status().message()));
  return r;
}

FA_INLINE nlohmann::json Monitor::rules_to_json(const std::vector<MonitorRule>& rules) {
  nlohmann::json list = nlohmann::json::array();
  for (const MonitorRule& r : rules) {
    nlohmann::json j = {{"name", r.name},
                        {"kind", to_string(r.kind)},
                        {"severity", events::to_string(r.severity)},
                        {"event_types", r.event_types},
                        {"max_groups", r.max_groups}};
    if (!r.description.empty()) j["description"] = r.description;
    if (!r.action.empty()) j["action"] = r.action;
    if (!r.group_by.empty() || r.kind == RuleKind::new_value) j["group_by"] = r.group_by;
    if (!r.where.empty()) {
      nlohmann::json w = nlohmann::json::object();
      for (const RuleCondition& c : r.where) {
        switch (c.op) {
          case RuleCondition::Op::equals:
            w[c.field] = {{"equals", c.values.empty() ? nlohmann::json() : c.values.front()}};
            break;
          case RuleCondition::Op::in: w[c.field] = {{"in", c.values}}; break;
          case RuleCondition::Op::exists: w[c.field] = {{"exists", c.flag}}; break;
          case RuleCondition::Op::any_true: w[c.field] = {{"any_true", c.flag}}; break;
        }
      }
      j["where"] = std::move(w);
    }
    switch (r.kind) {
      case RuleKind::threshold:
        j["window_seconds"] = r.window_seconds;
        j["threshold"] = r.threshold;
        j["max_window_events"] = r.max_window_events;
        break;
      case RuleKind::baseline:
        j["window_seconds"] = r.window_seconds;
        j["factor"] = r.factor;
        j["baseline_days"] = r.baseline_days;
        j["min_history_days"] = r.min_history_days;
        j["min_count"] = r.min_count;
        j["max_window_events"] = r.max_window_events;
        break;
      case RuleKind::new_value:
        j["value_field"] = r.value_field;
        j["max_values"] = r.max_values;
        j["learning_seconds"] = r.learning_seconds;
        j["forget_after_seconds"] = r.forget_after_seconds;
        break;
    }
    list.push_back(std::move(j));
  }
  return nlohmann::json{{"version", 1}, {"rules", std::move(list)}};
}

FA_INLINE std::vector<MonitorRule> Monitor::default_rules() {
  std::vector<MonitorRule> out;
  {
    MonitorRule r;
    r.name = "excessive_failed_auth";
    r.kind = RuleKind::threshold;
    r.severity = events::Severity::medium;
    r.action = "alert_security_team";
    r.description = "More than 10 failed authentications within 5 minutes in a tenant (seed article 8.3)";
    r.event_types = {"auth.failed"};
    r.window_seconds = 300;
    r.threshold = 10;
    out.push_back(std::move(r));
  }
  {
    MonitorRule r;
    r.name = "unusual_generation_volume";
    r.kind = RuleKind::baseline;
    r.severity = events::Severity::low;
    r.action = "investigate";
    r.description = "A user's generations within one hour above twice their typical day (seed article 8.3)";
    r.event_types = {"generation.submitted"};  // once per request (GenerationTracker also writes image_generation)
    r.group_by = {"user_id"};
    r.window_seconds = 3600;
    r.factor = 2.0;
    r.baseline_days = 7;
    r.min_history_days = 3;
    r.min_count = 5;
    out.push_back(std::move(r));
  }
  {
    MonitorRule r;
    r.name = "nsfw_pattern";
    r.kind = RuleKind::threshold;
    r.severity = events::Severity::high;
    r.action = "alert_compliance_team";
    r.description = "More than 5 safety checks with an NSFW finding within 1 hour in a tenant (seed article 8.3)";
    r.event_types = {"safety_check.completed"};
    RuleCondition c;
    c.field = "has_nsfw_concepts";
    c.op = RuleCondition::Op::any_true;
    c.flag = true;
    r.where = {c};
    r.window_seconds = 3600;
    r.threshold = 5;
    out.push_back(std::move(r));
  }
  {
    MonitorRule r;
    r.name = "api_key_anomaly";
    r.kind = RuleKind::new_value;
    r.severity = events::Severity::medium;
    r.action = "verify_with_key_owner";
    r.description = "An API key used from an IP address not seen before for that key (seed article 8.3)";
    r.event_types = {"apikey.used"};
    r.group_by = {"key_id"};
    r.value_field = "ip_address";
    r.max_values = 64;
    r.learning_seconds = 0;
    r.forget_after_seconds = 90 * 86400;
    out.push_back(std::move(r));
  }
  return out;
}

// --- offline --------------------------------------------------------------------------------------------------

FA_INLINE Result<MonitorReplay> Monitor::replay(const std::string& path, VerifyOptions verify) {
  if (verify.on_record) return Status(Code::invalid_argument, "Monitor::replay sets VerifyOptions::on_record itself");
  reset();
  MonitorReplay out;
  std::unordered_set<std::string_view> names;
  for (const MonitorRule& r : rules_) names.insert(r.name);
  std::vector<std::string> logged_bytes;
  verify.on_record = [&](const VerifiedRecord& rec) {
    const std::string_view type = rec.event_type;
    if (type == "log.opened") {
      reset();  // each writer session starts its live monitor empty (AuditLogger::open calls reset())
      ++out.sessions;
      return;
    }
    if (type.substr(0, 4) == "log.") return;
    if (type == "alert.raised") {
      nlohmann::json ev = nlohmann::json::parse(rec.event, nullptr, /*allow_exceptions=*/false);
      const auto rule = ev.is_object() ? ev.find("rule") : ev.end();
      if (!ev.is_object() || rule == ev.end() || !rule->is_string() ||
          names.count(rule->get_ref<const std::string&>()) == 0) {
        ++out.other_logged;
        return;
      }
      out.logged.push_back({rec.seq, std::move(ev)});
      logged_bytes.emplace_back(rec.event);
      return;
    }
    const MonitorInput in = extract(type, rec.event);
    if (in.empty()) return;
    ++out.events;
    for (Alert& a : observe(in, rec.seq, rec.ts_micros)) out.alerts.push_back(std::move(a));
  };
  ChainVerifier verifier(std::move(verify));
  Result<VerifySummary> sum = verifier.verify_path(path);
  if (!sum) return sum.status();
  out.summary = std::move(sum.value());

  // Multiset match on the canonical bytes: the writer sealed jcs(alert.to_json()).
  std::unordered_multimap<std::string, std::size_t> pending;
  for (std::size_t i = 0; i < logged_bytes.size(); ++i) pending.emplace(std::move(logged_bytes[i]), i);
  std::vector<bool> used(out.logged.size(), false);
  for (std::size_t i = 0; i < out.alerts.size(); ++i) {
    const auto it = pending.find(jcs::serialize(out.alerts[i].to_json()));
    if (it == pending.end()) {
      out.missing.push_back(i);
      continue;
    }
    used[it->second] = true;
    pending.erase(it);
    ++out.matched;
  }
  for (std::size_t i = 0; i < used.size(); ++i)
    if (!used[i]) out.unexpected.push_back(i);
  return out;
}

}  // namespace fooocus_audit
