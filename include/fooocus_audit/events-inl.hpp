// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/events.hpp"
#endif

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <cmath>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "fooocus_audit/record.hpp"

namespace fooocus_audit::events {

namespace events_impl {

using nlohmann::json;

constexpr std::int64_t kMaxSafe = record::kMaxSafeInteger;

// --- building the table
// ----------------------------------------------------------------------------------------

inline FieldSpec field(std::string name, FieldType type) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = type;
  if (type == FieldType::integer || type == FieldType::seed) {
    f.min = type == FieldType::seed ? 0 : -kMaxSafe;
    f.max = kMaxSafe;
  }
  return f;
}
inline FieldSpec req(FieldSpec f) {
  f.presence = Presence::required;
  return f;
}
inline FieldSpec str(std::string name) { return field(std::move(name), FieldType::string); }
inline FieldSpec integer(std::string name, std::int64_t min, std::int64_t max = kMaxSafe) {
  FieldSpec f = field(std::move(name), FieldType::integer);
  f.min = min;
  f.max = max;
  return f;
}
inline FieldSpec count(std::string name) { return integer(std::move(name), 0); }
inline FieldSpec number(std::string name) { return field(std::move(name), FieldType::number); }
inline FieldSpec boolean(std::string name) { return field(std::move(name), FieldType::boolean); }
inline FieldSpec any(std::string name) { return field(std::move(name), FieldType::any); }
inline FieldSpec one_of(std::string name, std::vector<std::string> allowed) {
  FieldSpec f = str(std::move(name));
  f.allowed = std::move(allowed);
  return f;
}
inline FieldSpec formatted(std::string name, FieldFormat format) {
  FieldSpec f = str(std::move(name));
  f.format = format;
  return f;
}
inline FieldSpec object(std::string name, std::vector<FieldSpec> members = {}) {
  FieldSpec f = field(std::move(name), FieldType::object);
  f.members = std::move(members);
  return f;
}
inline FieldSpec objects(std::string name, std::vector<FieldSpec> members) {
  FieldSpec f = field(std::move(name), FieldType::object_array);
  f.members = std::move(members);
  return f;
}
inline FieldSpec forbidden(std::string name, std::string why) {
  FieldSpec f = field(std::move(name), FieldType::any);
  f.presence = Presence::forbidden;
  f.why = std::move(why);
  return f;
}
// GenerationEvent writes every member; "" stands for a member it was not given.
inline FieldSpec lenient(FieldSpec f) {
  f.empty_means_absent = true;
  return f;
}

// Members every known event may carry; an event's own entry with the same name takes precedence.
inline std::vector<FieldSpec> with_common(std::vector<FieldSpec> own) {
  for (FieldSpec& c :
       std::vector<FieldSpec>{formatted("timestamp", FieldFormat::timestamp), str("user_id"),
                              str("tenant_id"), str("session_id"), str("ip_address"), str("user_agent")}) {
    bool listed = false;
    for (const FieldSpec& f : own) listed = listed || f.name == c.name;
    if (!listed) own.push_back(std::move(c));
  }
  return own;
}

// The §2.2 `request` object, also the `request` of generation.submitted.
inline FieldSpec request_object() {
  return object("request",
                {str("prompt_sanitized"), lenient(formatted("prompt_hash", FieldFormat::prompt_hash)),
                 str("negative_prompt"), str("performance"), str("aspect_ratio"), integer("num_images", 1),
                 field("seed", FieldType::seed), objects("loras", {str("name"), number("weight")}),
                 field("styles", FieldType::string_array), number("guidance_scale"), number("sharpness"),
                 boolean("enable_safety_checker")});
}

inline FieldSpec nsfw_flags() { return field("has_nsfw_concepts", FieldType::bool_or_bool_array); }

inline std::vector<EventSchema> build_schema() {
  const std::vector<std::string> auth_methods{"password", "api_key", "saml", "oidc", "sso", "other"};
  std::vector<EventSchema> s;
  auto add = [&](std::string type, std::vector<FieldSpec> fields) {
    s.push_back(EventSchema{std::move(type), with_common(std::move(fields))});
  };

  // §2.2 of the seed article: the body of `audit_event`, as GenerationEvent serializes it.
  add("image_generation",
      {str("version"), lenient(formatted("timestamp", FieldFormat::timestamp)), req(str("request_id")),
       request_object(),
       object("processing", {str("worker_id"), count("queue_wait_ms"), count("generation_duration_ms"),
                             count("retry_count"), str("model_version"), str("refiner_model")}),
       objects("outputs", {str("url"), lenient(formatted("hash", FieldFormat::sha256)), count("width"),
                           count("height"), count("file_size_bytes")}),
       object("safety", {nsfw_flags(), str("safety_checker_version")}), str("result")});

  // §2.3: the request lifecycle.
  add("generation.submitted",
      {req(str("request_id")), request_object(), str("model_version"), str("refiner_model")});
  add("generation.queued", {req(str("request_id")), count("queue_position")});
  add("generation.started", {req(str("request_id")), str("worker_id"), count("queue_wait_ms")});
  add("generation.completed",
      {req(str("request_id")), count("generation_duration_ms"),
       objects("outputs", {str("url"), str("path"), formatted("sha256", FieldFormat::sha256), count("width"),
                           count("height"), count("file_size_bytes"),
                           one_of("format", {"png", "jpeg", "webp", "other"})}),
       object("safety", {nsfw_flags(), str("safety_checker_version")})});
  add("generation.failed", {req(str("request_id")), req(str("error_details")), count("retry_count"),
                            count("generation_duration_ms")});
  add("generation.cancelled", {req(str("request_id")), str("cancelled_by"), str("reason")});
  add("generation.abandoned",
      {req(str("request_id")), req(one_of("last_state", {"submitted", "queued", "started"})),
       req(count("timeout_ms"))});
  add("generation.anomaly", {req(str("request_id")), req(str("anomaly")), str("state"), str("received")});
  add("webhook.delivered", {req(str("request_id")), req(integer("attempt", 1)), integer("status", 100, 599),
                            formatted("url_host", FieldFormat::host), boolean("retry")});
  add("webhook.failed", {req(str("request_id")), req(integer("attempt", 1)), integer("status", 100, 599),
                         formatted("url_host", FieldFormat::host), boolean("retry"), str("error")});

  // §4: identities, sessions, keys, permissions.
  add("auth.succeeded", {req(str("user_id")), one_of("method", auth_methods), boolean("mfa")});
  add("auth.failed", {str("user_id"), one_of("method", auth_methods), boolean("mfa"), str("reason")});
  add("session.started",
      {req(str("session_id")), req(str("user_id")),
       one_of("auth_method", {"SAML", "OIDC", "password", "api_key", "other"}), boolean("mfa_verified")});
  add("session.ended", {req(str("session_id")), str("user_id"), count("duration_ms"),
                        req(one_of("end_reason", {"logout", "timeout", "forced_termination"}))});
  const auto apikey = [](bool rotated) {
    std::vector<FieldSpec> f{req(formatted("key_id", FieldFormat::key_id)), str("owner"),
                             field("scopes", FieldType::string_array), str("actor")};
    if (rotated) f.push_back(req(formatted("new_key_id", FieldFormat::key_id)));
    return f;
  };
  add("apikey.created", apikey(false));
  add("apikey.used", apikey(false));
  add("apikey.rotated", apikey(true));
  add("apikey.revoked", apikey(false));
  add("permission.changed", {req(str("subject")), req(str("permission")), any("old_value"), any("new_value"),
                             req(str("changed_by"))});

  // §5: models, LoRAs, configuration.
  add("model.registered",
      {req(str("model_id")), req(str("version")), one_of("kind", {"base", "refiner", "lora", "vae", "other"}),
       req(formatted("sha256", FieldFormat::sha256)), count("size_bytes"), str("path"), str("source"),
       req(str("registered_by"))});
  for (const char* t : {"model.approved", "model.deprecated", "model.revoked"})
    add(t, {req(str("model_id")), req(str("version")), req(str("actor")), str("reason")});
  add("model.violation",
      {req(str("request_id")), req(str("model_id")), str("version"),
       req(one_of("problem", {"unregistered", "unapproved", "deprecated", "revoked", "modified"})),
       req(one_of("action", {"blocked", "flagged"}))});
  add("lora.trained",
      {req(str("lora_id")), req(str("version")), req(str("dataset_id")), req(str("trained_by")),
       object("parameters"), formatted("sha256", FieldFormat::sha256)});
  add("lora.approved", {req(str("lora_id")), req(str("version")), req(str("approved_by"))});
  add("lora.used", {req(str("lora_id")), str("version"), number("weight"), req(str("request_id"))});
  add("config.*",
      {req(str("setting")), any("old_value"), any("new_value"), req(str("changed_by")), str("approved_by")});

  // §6: safety and content policy.
  add("safety_check.completed",
      {req(str("request_id")), req(formatted("prompt_hash", FieldFormat::prompt_hash)), req(nsfw_flags()),
       str("safety_checker_version"), req(one_of("action", {"blocked", "allowed", "flagged_for_review"}))});
  add("policy.violation",
      {req(formatted("prompt_hash", FieldFormat::prompt_hash)), req(str("rule_id")), req(str("rule_name")),
       req(one_of("severity", {"low", "medium", "high", "critical"})),
       req(one_of("action", {"rejected", "flagged"})), str("request_id"),
       forbidden("prompt", "a policy violation records the prompt's hash, never the prompt"),
       forbidden("prompt_sanitized", "a policy violation records the prompt's hash, never the prompt")});

  // Monitoring (docs/monitoring.md): what the writer seals when a rule fires.
  add("alert.raised",
      {req(str("rule")), req(one_of("severity", {"low", "medium", "high", "critical"})),
       one_of("kind", {"threshold", "baseline", "new_value"}), object("group"), number("value"), number("threshold"),
       number("baseline"), integer("window_seconds", 1), str("message"), count("first_seq"), count("last_seq"),
       str("action"), str("value_field"), str("new_value")});
  return s;
}

struct Index {
  std::vector<EventSchema> schemas = build_schema();
  std::unordered_map<std::string_view, const EventSchema*> by_type;
  const EventSchema* config = nullptr;
  Index() {
    for (const EventSchema& e : schemas) by_type.emplace(e.event_type, &e);
    config = by_type.at("config.*");
  }
};

inline const Index& index() {
  static const Index idx;
  return idx;
}

// --- checking values
// -------------------------------------------------------------------------------------------

// Where a member sits ("outputs[2].hash"), rendered only for an error message.
struct Path {
  const Path* parent = nullptr;
  std::string_view name;
  std::size_t index = 0;
  bool is_index = false;

  std::string render() const {
    std::string out = parent ? parent->render() : std::string();
    if (is_index) return out + fmt::format("[{}]", index);
    if (!out.empty()) out.push_back('.');
    out.append(name);
    return out;
  }
  Path member(std::string_view n) const { return Path{this, n, 0, false}; }
  Path element(std::size_t i) const { return Path{this, {}, i, true}; }
};

inline bool is_hex_lower(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

inline bool is_prefixed_sha256(std::string_view s, std::string_view prefix) {
  return s.size() == prefix.size() + 64 && s.substr(0, prefix.size()) == prefix &&
         is_hex_lower(s.substr(prefix.size()));
}

inline bool digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// RFC 3339 §5.6 date-time, with the §5.7 range restrictions (leap years and leap seconds included).
inline bool is_rfc3339(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, &y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, &mo) || s[7] != '-' ||
      !digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, &h) || s[13] != ':' ||
      !digits(s, 14, 2, &mi) || s[16] != ':' || !digits(s, 17, 2, &sec))
    return false;
  static constexpr std::array<int, 12> kDays{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[static_cast<std::size_t>(mo - 1)] ||
      (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 60)
    return false;
  std::size_t pos = 19;
  if (s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return false;
  }
  if (pos == s.size()) return false;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size();
  int oh = 0, om = 0;
  return (s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && digits(s, pos + 1, 2, &oh) &&
         s[pos + 3] == ':' && digits(s, pos + 4, 2, &om) && oh <= 23 && om <= 59;
}

// host, host:port, [v6], [v6]:port — nothing that could carry a path, query, user info or scheme.
inline bool is_host(std::string_view s) {
  if (s.empty() || s.size() > 261) return false;
  std::size_t end = 0;
  if (s[0] == '[') {
    end = s.find(']');
    if (end == std::string_view::npos || end < 3) return false;
    for (char c : s.substr(1, end - 1))
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    ++end;
  } else {
    while (end < s.size() && s[end] != ':') {
      const char c = s[end];
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) return false;
      ++end;
    }
    if (end == 0 || end > 253) return false;
  }
  if (end == s.size()) return true;
  if (s[end] != ':') return false;
  const std::string_view port = s.substr(end + 1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port)
    if (c < '0' || c > '9') return false;
  return true;
}

inline std::string_view article_noun(const FieldSpec& f, bool with_article) {
  switch (f.type) {
    case FieldType::string:
      return with_article ? "a string" : "string";
    case FieldType::integer:
      return with_article ? "an integer" : "integer";
    case FieldType::number:
      return with_article ? "a finite number" : "number";
    case FieldType::boolean:
      return with_article ? "a boolean" : "boolean";
    case FieldType::object:
      return with_article ? "an object" : "object";
    case FieldType::any:
      return with_article ? "a value" : "value";
    case FieldType::string_array:
      return with_article ? "an array of strings" : "array of strings";
    case FieldType::object_array:
      return with_article ? "an array of objects" : "array of objects";
    case FieldType::bool_or_bool_array:
      return with_article ? "a boolean or an array of booleans" : "boolean or array of booleans";
    case FieldType::seed:
      return with_article ? "an integer >= 0 or a decimal string" : "seed";
  }
  return "value";
}

inline std::string range_text(const FieldSpec& f) {
  if (f.min == -kMaxSafe && f.max == kMaxSafe) return "an integer within +-(2^53-1)";
  if (f.max == kMaxSafe) return fmt::format("an integer >= {}", f.min);
  return fmt::format("an integer from {} to {}", f.min, f.max);
}

inline std::string_view format_text(FieldFormat f) {
  switch (f) {
    case FieldFormat::none:
      return "";
    case FieldFormat::sha256:
      return "must be \"sha256:\" followed by 64 lowercase hex digits";
    case FieldFormat::prompt_hash:
      return "must be \"hmac-sha256:\" or \"sha256:\" followed by 64 lowercase hex digits";
    case FieldFormat::timestamp:
      return "must be an RFC 3339 date-time such as 2026-03-25T14:30:45.123Z";
    case FieldFormat::key_id:
      return "looks like key material, not a key identifier: log an identifier such as key_2f9c, never the "
             "key";
    case FieldFormat::host:
      return "must be a host name or address, optionally with :port, without scheme, path, query or user "
             "(webhook URLs often carry secrets)";
  }
  return "";
}

inline bool format_ok(FieldFormat f, std::string_view v) {
  switch (f) {
    case FieldFormat::none:
      return true;
    case FieldFormat::sha256:
      return is_prefixed_sha256(v, "sha256:");
    case FieldFormat::prompt_hash:
      return is_prefixed_sha256(v, "sha256:") || is_prefixed_sha256(v, "hmac-sha256:");
    case FieldFormat::timestamp:
      return is_rfc3339(v);
    case FieldFormat::key_id:
      return !looks_like_key_material(v);
    case FieldFormat::host:
      return is_host(v);
  }
  return false;
}

class Checker {
 public:
  explicit Checker(std::string_view event_type) : type_(event_type) {}

  // Messages name the member and the rule, never the value (it may be a secret).
  Status fail(const Path& at, std::string_view what) const {
    return {Code::invalid_argument, fmt::format("{}: {}: {}", type_, at.render(), what)};
  }

  Status check_string(const FieldSpec& f, std::string_view v, const Path& at) const {
    if (v.empty()) {
      if (f.presence == Presence::required) return fail(at, "required string is empty");
      if (f.empty_means_absent) return {};
    }
    if (!f.allowed.empty()) {
      bool found = false;
      for (const std::string& a : f.allowed) found = found || a == v;
      if (!found) {
        std::string list;
        for (const std::string& a : f.allowed) list.append(list.empty() ? "" : "|").append(a);
        return fail(at, "must be one of " + list);
      }
    }
    if (!format_ok(f.format, v)) return fail(at, format_text(f.format));
    return {};
  }

  Status check_integer(const FieldSpec& f, std::int64_t v, const Path& at) const {
    if (v < f.min || v > f.max) return fail(at, fmt::format("must be {}", range_text(f)));
    return {};
  }

  Status check_number(const FieldSpec& f, double v, const Path& at) const {
    if (!std::isfinite(v)) return fail(at, fmt::format("must be {}", article_noun(f, true)));
    return {};
  }

  Status check_members(const std::vector<FieldSpec>& fields, const json& obj, const Path& at) const {
    for (const FieldSpec& f : fields) {
      const Path here = at.member(f.name);
      const auto it = obj.find(f.name);
      if (it == obj.end()) {
        if (f.presence == Presence::required)
          return fail(here, fmt::format("required {} is missing", article_noun(f, false)));
        continue;
      }
      if (f.presence == Presence::forbidden) return fail(here, fmt::format("must not be present: {}", f.why));
      if (Status s = check_value(f, *it, here); !s) return s;
    }
    return {};
  }

  Status check_value(const FieldSpec& f, const json& v, const Path& at) const {
    switch (f.type) {
      case FieldType::string:
        if (!v.is_string()) return wrong_type(f, v, at);
        return check_string(f, v.get_ref<const std::string&>(), at);
      case FieldType::integer: {
        std::int64_t n = 0;
        if (!as_integer(v, &n))
          return v.is_number() ? fail(at, fmt::format("must be {}", range_text(f))) : wrong_type(f, v, at);
        return check_integer(f, n, at);
      }
      case FieldType::number:
        if (!v.is_number()) return wrong_type(f, v, at);
        return check_number(f, v.get<double>(), at);
      case FieldType::boolean:
        return v.is_boolean() ? Status() : wrong_type(f, v, at);
      case FieldType::object:
        if (!v.is_object()) return wrong_type(f, v, at);
        return check_members(f.members, v, at);
      case FieldType::any:
        return {};
      case FieldType::string_array:
        if (!v.is_array()) return wrong_type(f, v, at);
        for (std::size_t i = 0; i < v.size(); ++i)
          if (!v[i].is_string())
            return fail(at.element(i), fmt::format("must be a string, got {}", v[i].type_name()));
        return {};
      case FieldType::object_array:
        if (!v.is_array()) return wrong_type(f, v, at);
        for (std::size_t i = 0; i < v.size(); ++i) {
          const Path el = at.element(i);
          if (!v[i].is_object()) return fail(el, fmt::format("must be an object, got {}", v[i].type_name()));
          if (Status s = check_members(f.members, v[i], el); !s) return s;
        }
        return {};
      case FieldType::bool_or_bool_array:
        if (v.is_boolean()) return {};
        if (!v.is_array()) return wrong_type(f, v, at);
        for (std::size_t i = 0; i < v.size(); ++i)
          if (!v[i].is_boolean())
            return fail(at.element(i), fmt::format("must be a boolean, got {}", v[i].type_name()));
        return {};
      case FieldType::seed: {
        std::int64_t n = 0;
        if (as_integer(v, &n))
          return n >= 0 ? Status() : fail(at, "must be an integer >= 0 or a decimal string");
        if (!v.is_string()) return wrong_type(f, v, at);
        const auto& s = v.get_ref<const std::string&>();
        bool ok = !s.empty() && s.size() <= 20;
        for (char c : s) ok = ok && c >= '0' && c <= '9';
        return ok ? Status() : fail(at, "must be an integer >= 0 or a decimal string");
      }
    }
    return {};
  }

 private:
  Status wrong_type(const FieldSpec& f, const json& v, const Path& at) const {
    const std::string expected =
        f.type == FieldType::integer ? range_text(f) : std::string(article_noun(f, true));
    return fail(at, fmt::format("must be {}, got {}", expected, v.type_name()));
  }

  // An integral JSON number within +-(2^53-1); 3.0 counts, it is stored canonically as 3.
  static bool as_integer(const json& v, std::int64_t* out) {
    if (v.is_number_integer() && !v.is_number_unsigned()) {
      *out = v.get<std::int64_t>();
      return *out >= -kMaxSafe && *out <= kMaxSafe;
    }
    if (v.is_number_unsigned()) {
      const std::uint64_t u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(kMaxSafe)) return false;
      *out = static_cast<std::int64_t>(u);
      return true;
    }
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > static_cast<double>(kMaxSafe))
        return false;
      *out = static_cast<std::int64_t>(d);
      return true;
    }
    return false;
  }

  std::string_view type_;
};

inline std::string_view family(std::string_view event_type) {
  return event_type.substr(0, event_type.find('.'));
}

// Shannon entropy in bits per character.
inline double entropy(std::string_view s) {
  std::array<std::size_t, 256> counts{};
  for (unsigned char c : s) ++counts[c];
  double h = 0;
  for (std::size_t n : counts) {
    if (n == 0) continue;
    const double p = static_cast<double>(n) / static_cast<double>(s.size());
    h -= p * std::log2(p);
  }
  return h;
}

inline bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
         c == '=';
}

// A ULID (26 characters of Crockford base32, a 48-bit time first) is an identifier format, not a secret.
inline bool is_ulid(std::string_view s) {
  if (s.size() != 26 || s[0] < '0' || s[0] > '7') return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'L' && c != 'O' && c != 'U')))
      return false;
  return true;
}

// Prefixes of secrets as issued (OpenAI, Stripe, GitHub, GitLab, AWS, Slack, Google).
constexpr std::array<std::string_view, 21> kSecretPrefixes{
    "sk-",   "sk_live_", "sk_test_", "rk_live_",    "rk_test_", "ghp_", "gho_",
    "ghu_",  "ghs_",     "ghr_",     "github_pat_", "glpat-",   "AKIA", "ASIA",
    "xoxb-", "xoxp-",    "xoxa-",    "xoxr-",       "xoxs-",    "AIza", "-----BEGIN"};

}  // namespace events_impl

FA_INLINE bool looks_like_key_material(std::string_view s) noexcept {
  std::size_t code_points = 0;
  for (unsigned char c : s) code_points += (c & 0xC0) != 0x80;
  if (code_points > 40) return true;
  for (std::string_view p : events_impl::kSecretPrefixes)
    if (s.substr(0, p.size()) == p) return true;
  if (s.find("-----BEGIN") != std::string_view::npos) return true;
  for (std::size_t i = 0; i < s.size();) {
    if (!events_impl::is_base64_char(s[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < s.size() && events_impl::is_base64_char(s[j])) ++j;
    const std::string_view run = s.substr(i, j - i);
    if (run.size() >= 24 && !events_impl::is_ulid(run) && events_impl::entropy(run) >= 3.5) return true;
    i = j;
  }
  return false;
}

FA_INLINE bool is_reserved_family(std::string_view event_type) noexcept {
  static constexpr std::array<std::string_view, 14> kReserved{
      "generation", "webhook", "auth",         "session", "apikey", "permission",       "model",
      "lora",       "config",  "safety_check", "policy",  "log",    "image_generation", "alert"};
  const std::string_view f = events_impl::family(event_type);
  for (std::string_view r : kReserved)
    if (f == r) return true;
  return false;
}

FA_INLINE const std::vector<EventSchema>& schema() { return events_impl::index().schemas; }

FA_INLINE const EventSchema* find_schema(std::string_view event_type) {
  const events_impl::Index& idx = events_impl::index();
  if (const auto it = idx.by_type.find(event_type); it != idx.by_type.end())
    return event_type == "config.*" ? nullptr : it->second;
  if (event_type.size() > 7 && event_type.substr(0, 7) == "config.") return idx.config;
  return nullptr;
}

FA_INLINE Status validate_event(const nlohmann::json& event) {
  if (!event.is_object()) return {Code::invalid_argument, "event must be a JSON object"};
  const auto it = event.find("event_type");
  if (it == event.end() || !it->is_string())
    return {Code::invalid_argument, "event_type: missing or not a string"};
  const auto& type = it->get_ref<const std::string&>();
  if (!record::valid_event_type(type))
    return {Code::invalid_argument,
            "event_type: must be 1-128 characters of [a-z0-9_.-] starting with a letter"};
  const std::string_view family = events_impl::family(type);
  if (family == "log") return {Code::invalid_argument, "event_type: the log. prefix is reserved"};
  const EventSchema* s = find_schema(type);
  if (s == nullptr) {
    if (family == "config")
      return {Code::invalid_argument,
              fmt::format("{}: unknown event type: configuration changes are config.<suffix> "
                          "with a non-empty suffix (docs/events.md)",
                          type)};
    if (is_reserved_family(type))
      return {Code::invalid_argument,
              fmt::format(
                  "{}: unknown event type in the reserved family {} (docs/events.md lists the known types; "
                  "use your own namespace, such as acme.{}, for custom events)",
                  type, family, type)};
    return {};  // a custom event: docs/log-format.md §4 is all that applies
  }
  return events_impl::Checker(type).check_members(s->fields, event, events_impl::Path{});
}

namespace events_impl {

// image_generation's members, looked up once, so that the struct path applies the table's own rules.
struct GenerationFields {
  const FieldSpec& at(const std::vector<FieldSpec>& fields, std::string_view name) {
    for (const FieldSpec& f : fields)
      if (f.name == name) return f;
    throw std::logic_error("image_generation schema lacks a member GenerationEvent writes");
  }
  const FieldSpec *version, *timestamp, *request_id, *user_id, *tenant_id, *session_id, *ip_address,
      *user_agent, *result;
  const FieldSpec *request, *prompt_sanitized, *prompt_hash, *negative_prompt, *performance, *aspect_ratio,
      *num_images, *seed, *loras, *lora_name, *lora_weight, *guidance_scale, *sharpness;
  const FieldSpec *processing, *worker_id, *queue_wait_ms, *generation_duration_ms, *retry_count,
      *model_version, *refiner_model;
  const FieldSpec *outputs, *url, *hash, *width, *height, *file_size_bytes;
  const FieldSpec *safety, *safety_checker_version;

  GenerationFields() {
    const std::vector<FieldSpec>& t = index().by_type.at("image_generation")->fields;
    version = &at(t, "version");
    timestamp = &at(t, "timestamp");
    request_id = &at(t, "request_id");
    user_id = &at(t, "user_id");
    tenant_id = &at(t, "tenant_id");
    session_id = &at(t, "session_id");
    ip_address = &at(t, "ip_address");
    user_agent = &at(t, "user_agent");
    result = &at(t, "result");
    request = &at(t, "request");
    const auto& r = request->members;
    prompt_sanitized = &at(r, "prompt_sanitized");
    prompt_hash = &at(r, "prompt_hash");
    negative_prompt = &at(r, "negative_prompt");
    performance = &at(r, "performance");
    aspect_ratio = &at(r, "aspect_ratio");
    num_images = &at(r, "num_images");
    seed = &at(r, "seed");
    loras = &at(r, "loras");
    lora_name = &at(loras->members, "name");
    lora_weight = &at(loras->members, "weight");
    guidance_scale = &at(r, "guidance_scale");
    sharpness = &at(r, "sharpness");
    processing = &at(t, "processing");
    const auto& p = processing->members;
    worker_id = &at(p, "worker_id");
    queue_wait_ms = &at(p, "queue_wait_ms");
    generation_duration_ms = &at(p, "generation_duration_ms");
    retry_count = &at(p, "retry_count");
    model_version = &at(p, "model_version");
    refiner_model = &at(p, "refiner_model");
    outputs = &at(t, "outputs");
    url = &at(outputs->members, "url");
    hash = &at(outputs->members, "hash");
    width = &at(outputs->members, "width");
    height = &at(outputs->members, "height");
    file_size_bytes = &at(outputs->members, "file_size_bytes");
    safety = &at(t, "safety");
    safety_checker_version = &at(safety->members, "safety_checker_version");
  }
};

inline const GenerationFields& generation_fields() {
  static const GenerationFields f;
  return f;
}

}  // namespace events_impl

FA_INLINE Status validate_event(const GenerationEvent& g) {
  if (g.event_type != "image_generation") return validate_event(g.to_json());
  using events_impl::Path;
  const events_impl::GenerationFields& F = events_impl::generation_fields();
  const events_impl::Checker c("image_generation");
  const Path root;
  Status s;
  // Members in the order the JSON path checks them (the table's order), so the first error is the same. The
  // Checker (and a Status) is reached only when a member's rule could fail: this is the logger's fast path.
  auto str = [&](const FieldSpec* f, const std::string& v, const Path& parent) {
    if (!s || (f->presence == Presence::optional && f->allowed.empty() && f->format == FieldFormat::none))
      return;
    s = c.check_string(*f, v, parent.member(f->name));
  };
  auto integer = [&](const FieldSpec* f, std::int64_t v, const Path& parent) {
    if (s && (v < f->min || v > f->max)) s = c.check_integer(*f, v, parent.member(f->name));
  };
  auto number = [&](const FieldSpec* f, double v, const Path& parent) {
    if (s && !std::isfinite(v)) s = c.check_number(*f, v, parent.member(f->name));
  };
  str(F.version, g.version, root);
  str(F.timestamp, g.timestamp, root);
  str(F.request_id, g.request_id, root);
  {
    const Path r = root.member("request");
    str(F.prompt_sanitized, g.request.prompt_sanitized, r);
    str(F.prompt_hash, g.request.prompt_hash, r);
    str(F.negative_prompt, g.request.negative_prompt, r);
    str(F.performance, g.request.performance, r);
    str(F.aspect_ratio, g.request.aspect_ratio, r);
    integer(F.num_images, g.request.num_images, r);
    if (g.request.seed <= static_cast<std::uint64_t>(events_impl::kMaxSafe))
      integer(F.seed, static_cast<std::int64_t>(g.request.seed), r);
    const Path loras = r.member("loras");
    for (std::size_t i = 0; i < g.request.loras.size(); ++i) {
      const Path el = loras.element(i);
      str(F.lora_name, g.request.loras[i].name, el);
      number(F.lora_weight, g.request.loras[i].weight, el);
    }
    number(F.guidance_scale, g.request.guidance_scale, r);
    number(F.sharpness, g.request.sharpness, r);
  }
  {
    const Path p = root.member("processing");
    str(F.worker_id, g.processing.worker_id, p);
    integer(F.queue_wait_ms, g.processing.queue_wait_ms, p);
    integer(F.generation_duration_ms, g.processing.generation_duration_ms, p);
    integer(F.retry_count, g.processing.retry_count, p);
    str(F.model_version, g.processing.model_version, p);
    str(F.refiner_model, g.processing.refiner_model, p);
  }
  const Path outputs = root.member("outputs");
  for (std::size_t i = 0; i < g.outputs.size(); ++i) {
    const Path el = outputs.element(i);
    const GenerationEvent::Output& o = g.outputs[i];
    str(F.url, o.url, el);
    str(F.hash, o.hash, el);
    integer(F.width, o.width, el);
    integer(F.height, o.height, el);
    integer(F.file_size_bytes, o.file_size_bytes, el);
  }
  str(F.safety_checker_version, g.safety.safety_checker_version, root.member("safety"));
  str(F.result, g.result, root);
  str(F.user_id, g.user_id, root);
  str(F.tenant_id, g.tenant_id, root);
  str(F.session_id, g.session_id, root);
  str(F.ip_address, g.ip_address, root);
  str(F.user_agent, g.user_agent, root);
  return s;
}

// --- enumerated values
// -----------------------------------------------------------------------------------------

FA_INLINE std::string_view to_string(ImageFormat v) noexcept {
  switch (v) {
    case ImageFormat::png:
      return "png";
    case ImageFormat::jpeg:
      return "jpeg";
    case ImageFormat::webp:
      return "webp";
    case ImageFormat::other:
      return "other";
  }
  return "";
}
FA_INLINE std::string_view to_string(LastState v) noexcept {
  switch (v) {
    case LastState::submitted:
      return "submitted";
    case LastState::queued:
      return "queued";
    case LastState::started:
      return "started";
  }
  return "";
}
FA_INLINE std::string_view to_string(AuthMethod v) noexcept {
  switch (v) {
    case AuthMethod::password:
      return "password";
    case AuthMethod::api_key:
      return "api_key";
    case AuthMethod::saml:
      return "saml";
    case AuthMethod::oidc:
      return "oidc";
    case AuthMethod::sso:
      return "sso";
    case AuthMethod::other:
      return "other";
  }
  return "";
}
FA_INLINE std::string_view to_string(SessionAuthMethod v) noexcept {
  switch (v) {
    case SessionAuthMethod::saml:
      return "SAML";
    case SessionAuthMethod::oidc:
      return "OIDC";
    case SessionAuthMethod::password:
      return "password";
    case SessionAuthMethod::api_key:
      return "api_key";
    case SessionAuthMethod::other:
      return "other";
  }
  return "";
}
FA_INLINE std::string_view to_string(SessionEndReason v) noexcept {
  switch (v) {
    case SessionEndReason::logout:
      return "logout";
    case SessionEndReason::timeout:
      return "timeout";
    case SessionEndReason::forced_termination:
      return "forced_termination";
  }
  return "";
}
FA_INLINE std::string_view to_string(ModelKind v) noexcept {
  switch (v) {
    case ModelKind::base:
      return "base";
    case ModelKind::refiner:
      return "refiner";
    case ModelKind::lora:
      return "lora";
    case ModelKind::vae:
      return "vae";
    case ModelKind::other:
      return "other";
  }
  return "";
}
FA_INLINE std::string_view to_string(ModelProblem v) noexcept {
  switch (v) {
    case ModelProblem::unregistered:
      return "unregistered";
    case ModelProblem::unapproved:
      return "unapproved";
    case ModelProblem::deprecated:
      return "deprecated";
    case ModelProblem::revoked:
      return "revoked";
    case ModelProblem::modified:
      return "modified";
  }
  return "";
}
FA_INLINE std::string_view to_string(ModelAction v) noexcept {
  switch (v) {
    case ModelAction::blocked:
      return "blocked";
    case ModelAction::flagged:
      return "flagged";
  }
  return "";
}
FA_INLINE std::string_view to_string(SafetyAction v) noexcept {
  switch (v) {
    case SafetyAction::blocked:
      return "blocked";
    case SafetyAction::allowed:
      return "allowed";
    case SafetyAction::flagged_for_review:
      return "flagged_for_review";
  }
  return "";
}
FA_INLINE std::string_view to_string(Severity v) noexcept {
  switch (v) {
    case Severity::low:
      return "low";
    case Severity::medium:
      return "medium";
    case Severity::high:
      return "high";
    case Severity::critical:
      return "critical";
  }
  return "";
}
FA_INLINE std::string_view to_string(PolicyAction v) noexcept {
  switch (v) {
    case PolicyAction::rejected:
      return "rejected";
    case PolicyAction::flagged:
      return "flagged";
  }
  return "";
}

// --- builders
// --------------------------------------------------------------------------------------------------

namespace events_impl {

template <typename T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
template <typename E>
void put_enum(json& j, const char* key, const std::optional<E>& v) {
  if (v) j[key] = std::string(to_string(*v));
}
inline json flags_json(const NsfwFlags& f) {
  return std::visit([](const auto& x) { return json(x); }, f);
}

// Adds the context members and the extra ones, then validates.
inline Result<json> finish(json j, const Context& c) {
  put(j, "timestamp", c.timestamp);
  put(j, "user_id", c.user_id);
  put(j, "tenant_id", c.tenant_id);
  put(j, "session_id", c.session_id);
  put(j, "ip_address", c.ip_address);
  put(j, "user_agent", c.user_agent);
  const std::string type = j["event_type"].get<std::string>();
  if (!c.extra.is_object()) return Status(Code::invalid_argument, type + ": extra: must be an object");
  for (const auto& [k, v] : c.extra.items()) {
    if (j.contains(k))
      return Status(Code::invalid_argument,
                    fmt::format("{}: extra.{}: the builder sets this member; use its typed field", type, k));
    j[k] = v;
  }
  if (Status s = validate_event(j); !s) return s;
  return j;
}

inline json start(std::string_view type) { return json{{"event_type", type}}; }

}  // namespace events_impl

FA_INLINE Result<nlohmann::json> GenerationSubmitted::to_json() const {
  nlohmann::json j = events_impl::start("generation.submitted");
  j["request_id"] = request_id;
  if (request) {
    GenerationEvent g;
    g.request = *request;
    j["request"] = g.to_json()["request"];
  }
  events_impl::put(j, "model_version", model_version);
  events_impl::put(j, "refiner_model", refiner_model);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> GenerationQueued::to_json() const {
  nlohmann::json j = events_impl::start("generation.queued");
  j["request_id"] = request_id;
  events_impl::put(j, "queue_position", queue_position);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> GenerationStarted::to_json() const {
  nlohmann::json j = events_impl::start("generation.started");
  j["request_id"] = request_id;
  events_impl::put(j, "worker_id", worker_id);
  events_impl::put(j, "queue_wait_ms", queue_wait_ms);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> GenerationCompleted::to_json() const {
  nlohmann::json j = events_impl::start("generation.completed");
  j["request_id"] = request_id;
  events_impl::put(j, "generation_duration_ms", generation_duration_ms);
  if (outputs) {
    nlohmann::json arr = nlohmann::json::array();
    for (const Output& o : *outputs) {
      nlohmann::json e = nlohmann::json::object();
      events_impl::put(e, "url", o.url);
      events_impl::put(e, "path", o.path);
      events_impl::put(e, "sha256", o.sha256);
      events_impl::put(e, "width", o.width);
      events_impl::put(e, "height", o.height);
      events_impl::put(e, "file_size_bytes", o.file_size_bytes);
      events_impl::put_enum(e, "format", o.format);
      arr.push_back(std::move(e));
    }
    j["outputs"] = std::move(arr);
  }
  if (safety) {
    nlohmann::json e = nlohmann::json::object();
    if (safety->has_nsfw_concepts)
      e["has_nsfw_concepts"] = events_impl::flags_json(*safety->has_nsfw_concepts);
    events_impl::put(e, "safety_checker_version", safety->safety_checker_version);
    j["safety"] = std::move(e);
  }
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> GenerationFailed::to_json() const {
  nlohmann::json j = events_impl::start("generation.failed");
  j["request_id"] = request_id;
  j["error_details"] = error_details;
  events_impl::put(j, "retry_count", retry_count);
  events_impl::put(j, "generation_duration_ms", generation_duration_ms);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> GenerationCancelled::to_json() const {
  nlohmann::json j = events_impl::start("generation.cancelled");
  j["request_id"] = request_id;
  events_impl::put(j, "cancelled_by", cancelled_by);
  events_impl::put(j, "reason", reason);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> GenerationAbandoned::to_json() const {
  nlohmann::json j = events_impl::start("generation.abandoned");
  j["request_id"] = request_id;
  j["last_state"] = std::string(events::to_string(last_state));
  j["timeout_ms"] = timeout_ms;
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> GenerationAnomaly::to_json() const {
  nlohmann::json j = events_impl::start("generation.anomaly");
  j["request_id"] = request_id;
  j["anomaly"] = anomaly;
  events_impl::put(j, "state", state);
  events_impl::put(j, "received", received);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> WebhookDelivered::to_json() const {
  nlohmann::json j = events_impl::start("webhook.delivered");
  j["request_id"] = request_id;
  j["attempt"] = attempt;
  events_impl::put(j, "status", status);
  events_impl::put(j, "url_host", url_host);
  events_impl::put(j, "retry", retry);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> WebhookFailed::to_json() const {
  nlohmann::json j = events_impl::start("webhook.failed");
  j["request_id"] = request_id;
  j["attempt"] = attempt;
  events_impl::put(j, "status", status);
  events_impl::put(j, "url_host", url_host);
  events_impl::put(j, "retry", retry);
  events_impl::put(j, "error", error);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> AuthSucceeded::to_json() const {
  nlohmann::json j = events_impl::start("auth.succeeded");
  events_impl::put_enum(j, "method", method);
  events_impl::put(j, "mfa", mfa);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> AuthFailed::to_json() const {
  nlohmann::json j = events_impl::start("auth.failed");
  events_impl::put_enum(j, "method", method);
  events_impl::put(j, "mfa", mfa);
  events_impl::put(j, "reason", reason);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> SessionStarted::to_json() const {
  nlohmann::json j = events_impl::start("session.started");
  events_impl::put_enum(j, "auth_method", auth_method);
  events_impl::put(j, "mfa_verified", mfa_verified);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> SessionEnded::to_json() const {
  nlohmann::json j = events_impl::start("session.ended");
  j["end_reason"] = std::string(events::to_string(end_reason));
  events_impl::put(j, "duration_ms", duration_ms);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> ApiKeyEventBase::build(std::string_view event_type,
                                                        nlohmann::json more) const {
  nlohmann::json j = events_impl::start(event_type);
  j["key_id"] = key_id;
  events_impl::put(j, "owner", owner);
  events_impl::put(j, "scopes", scopes);
  events_impl::put(j, "actor", actor);
  for (auto& [k, v] : more.items()) j[k] = std::move(v);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> ApiKeyCreated::to_json() const {
  return build("apikey.created", nlohmann::json::object());
}
FA_INLINE Result<nlohmann::json> ApiKeyUsed::to_json() const {
  return build("apikey.used", nlohmann::json::object());
}
FA_INLINE Result<nlohmann::json> ApiKeyRevoked::to_json() const {
  return build("apikey.revoked", nlohmann::json::object());
}
FA_INLINE Result<nlohmann::json> ApiKeyRotated::to_json() const {
  return build("apikey.rotated", {{"new_key_id", new_key_id}});
}

FA_INLINE Result<nlohmann::json> PermissionChanged::to_json() const {
  nlohmann::json j = events_impl::start("permission.changed");
  j["subject"] = subject;
  j["permission"] = permission;
  events_impl::put(j, "old_value", old_value);
  events_impl::put(j, "new_value", new_value);
  j["changed_by"] = changed_by;
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> ModelRegistered::to_json() const {
  nlohmann::json j = events_impl::start("model.registered");
  j["model_id"] = model_id;
  j["version"] = version;
  events_impl::put_enum(j, "kind", kind);
  j["sha256"] = sha256;
  events_impl::put(j, "size_bytes", size_bytes);
  events_impl::put(j, "path", path);
  events_impl::put(j, "source", source);
  j["registered_by"] = registered_by;
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> ModelStatusEventBase::build(std::string_view event_type) const {
  nlohmann::json j = events_impl::start(event_type);
  j["model_id"] = model_id;
  j["version"] = version;
  j["actor"] = actor;
  events_impl::put(j, "reason", reason);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> ModelApproved::to_json() const { return build("model.approved"); }
FA_INLINE Result<nlohmann::json> ModelDeprecated::to_json() const { return build("model.deprecated"); }
FA_INLINE Result<nlohmann::json> ModelRevoked::to_json() const { return build("model.revoked"); }

FA_INLINE Result<nlohmann::json> ModelViolation::to_json() const {
  nlohmann::json j = events_impl::start("model.violation");
  j["request_id"] = request_id;
  j["model_id"] = model_id;
  events_impl::put(j, "version", version);
  j["problem"] = std::string(events::to_string(problem));
  j["action"] = std::string(events::to_string(action));
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> LoraTrained::to_json() const {
  nlohmann::json j = events_impl::start("lora.trained");
  j["lora_id"] = lora_id;
  j["version"] = version;
  j["dataset_id"] = dataset_id;
  j["trained_by"] = trained_by;
  events_impl::put(j, "parameters", parameters);
  events_impl::put(j, "sha256", sha256);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> LoraApproved::to_json() const {
  nlohmann::json j = events_impl::start("lora.approved");
  j["lora_id"] = lora_id;
  j["version"] = version;
  j["approved_by"] = approved_by;
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> LoraUsed::to_json() const {
  nlohmann::json j = events_impl::start("lora.used");
  j["lora_id"] = lora_id;
  events_impl::put(j, "version", version);
  events_impl::put(j, "weight", weight);
  j["request_id"] = request_id;
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE std::string ConfigChanged::event_type() const {
  if (type_suffix) return "config." + *type_suffix;
  std::string suffix;
  for (char c : setting) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    suffix.push_back(ok ? c : '_');
  }
  if (suffix.size() > 128 - 7) suffix.resize(128 - 7);
  return "config." + suffix;
}

FA_INLINE Result<nlohmann::json> ConfigChanged::to_json() const {
  if (setting.empty()) return Status(Code::invalid_argument, "config.*: setting: required string is empty");
  nlohmann::json j = events_impl::start(event_type());
  j["setting"] = setting;
  events_impl::put(j, "old_value", old_value);
  events_impl::put(j, "new_value", new_value);
  j["changed_by"] = changed_by;
  events_impl::put(j, "approved_by", approved_by);
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> SafetyCheckCompleted::to_json() const {
  nlohmann::json j = events_impl::start("safety_check.completed");
  j["request_id"] = request_id;
  j["prompt_hash"] = prompt_hash;
  j["has_nsfw_concepts"] = events_impl::flags_json(has_nsfw_concepts);
  events_impl::put(j, "safety_checker_version", safety_checker_version);
  j["action"] = std::string(events::to_string(action));
  return events_impl::finish(std::move(j), *this);
}

FA_INLINE Result<nlohmann::json> PolicyViolation::to_json() const {
  nlohmann::json j = events_impl::start("policy.violation");
  j["prompt_hash"] = prompt_hash;
  j["rule_id"] = rule_id;
  j["rule_name"] = rule_name;
  j["severity"] = std::string(events::to_string(severity));
  j["action"] = std::string(events::to_string(action));
  events_impl::put(j, "request_id", request_id);
  return events_impl::finish(std::move(j), *this);
}

}  // namespace fooocus_audit::events
