// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file events.hpp
/// The event schema of docs/events.md: one table of known event types and their members, the validator
/// every path into the log goes through (AuditLogger::log, hence `fooocus-audit append` and the C ABI), the
/// key-material test for API key identifiers, and typed builders whose required members are constructor
/// parameters.
///
/// Error messages name the event type and the member ("generation.failed: error_details: required string is
/// missing") and never contain a member's value.

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/generation_event.hpp"

namespace fooocus_audit::events {

// -----------------------------------------------------------------------------------------------------------
// Validation

/// Checks `event` against docs/events.md: a JSON object whose `event_type` satisfies docs/log-format.md §4
/// and is not `log.*`; a known type (or `config.<suffix>`) must carry its required members with the right
/// types, formats and enumerated values; an unknown type in a reserved family is refused; a custom type
/// (first segment not reserved) is accepted as is. Members the schema does not list are allowed.
/// Returns Code::invalid_argument naming the member on failure. Thread-safe; does not check that the event
/// can be canonicalized (UTF-8, number range beyond the listed members) or its size: AuditLogger::log does.
Status validate_event(const nlohmann::json& event);

/// The same rules for the library's own GenerationEvent, without building a JSON tree (the logger's fast
/// path). Equivalent to `validate_event(event.to_json())`, which it calls when event.event_type is not
/// "image_generation".
Status validate_event(const GenerationEvent& event);

/// True when `s` looks like a secret rather than an identifier (docs/events.md §5.6): longer than 40
/// characters; or starting with a known secret prefix (sk-, sk_live_, ghp_, AKIA, xoxb-, ...); or containing
/// "-----BEGIN"; or containing a run of at least 24 characters of [A-Za-z0-9+/=] with a Shannon entropy of at
/// least 3.5 bits per character, unless that run is exactly a ULID. "key_2f9c" and
/// "ak_01HXYZ3K8M9N2P4Q6R7S0T5VWX" are identifiers.
bool looks_like_key_material(std::string_view s) noexcept;

/// True when the first dot-separated segment of `event_type` is a reserved family (generation, webhook,
/// auth, session, apikey, permission, model, lora, config, safety_check, policy, log, image_generation, alert).
bool is_reserved_family(std::string_view event_type) noexcept;

// -----------------------------------------------------------------------------------------------------------
// The schema as data (read-only; for tests, documentation and report generators)

/// JSON shape of a member.
enum class FieldType {
  string,
  integer,  ///< an integral JSON number within +-(2^53-1); 3.0 counts (it is stored as 3)
  number,   ///< any finite JSON number
  boolean,
  object,  ///< members listed in FieldSpec::members are checked, others allowed
  any,     ///< any JSON value, null included
  string_array,
  object_array,  ///< every element an object checked against FieldSpec::members
  bool_or_bool_array,
  seed,  ///< an integer >= 0, or a decimal string for seeds above 2^53-1
};

/// A value constraint on top of the type.
enum class FieldFormat {
  none,
  sha256,       ///< "sha256:" + 64 lowercase hex digits
  prompt_hash,  ///< "sha256:<64 hex>" or the keyed "hmac-sha256:<64 hex>"
  timestamp,    ///< RFC 3339 date-time
  key_id,       ///< a key identifier: !looks_like_key_material
  host,         ///< a host name or address, optionally ":port"; no scheme, path, query or credentials
};

enum class Presence { optional, required, forbidden };

struct FieldSpec {
  std::string name;
  FieldType type = FieldType::string;
  Presence presence = Presence::optional;
  FieldFormat format = FieldFormat::none;
  std::vector<std::string> allowed;  ///< enumerated values of a string member; empty: any string
  std::int64_t min = std::numeric_limits<std::int64_t>::min();  ///< integer members
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  /// "" means "not given" and skips the format check (members GenerationEvent always writes).
  bool empty_means_absent = false;
  std::vector<FieldSpec> members;  ///< object / object_array members
  std::string why;                 ///< forbidden members: the reason, for the error message
};

struct EventSchema {
  std::string event_type;         ///< "config.*" stands for every config.<suffix>
  std::vector<FieldSpec> fields;  ///< the members every event may carry are included
};

/// Every known event type, in the order of docs/events.md.
const std::vector<EventSchema>& schema();
/// The schema `event_type` is checked against (config.<suffix> gives "config.*"), or null for custom types,
/// log.* and unknown types.
const EventSchema* find_schema(std::string_view event_type);

// -----------------------------------------------------------------------------------------------------------
// Enumerated values (their strings are the schema's)

enum class ImageFormat { png, jpeg, webp, other };
enum class LastState { submitted, queued, started };
/// auth.* methods, written in lower case.
enum class AuthMethod { password, api_key, saml, oidc, sso, other };
/// session.started methods, written "SAML", "OIDC", "password", "api_key", "other".
enum class SessionAuthMethod { saml, oidc, password, api_key, other };
enum class SessionEndReason { logout, timeout, forced_termination };
enum class ModelKind { base, refiner, lora, vae, other };
enum class ModelProblem { unregistered, unapproved, deprecated, revoked, modified };
enum class ModelAction { blocked, flagged };
enum class SafetyAction { blocked, allowed, flagged_for_review };
enum class Severity { low, medium, high, critical };
enum class PolicyAction { rejected, flagged };

std::string_view to_string(ImageFormat v) noexcept;
std::string_view to_string(LastState v) noexcept;
std::string_view to_string(AuthMethod v) noexcept;
std::string_view to_string(SessionAuthMethod v) noexcept;
std::string_view to_string(SessionEndReason v) noexcept;
std::string_view to_string(ModelKind v) noexcept;
std::string_view to_string(ModelProblem v) noexcept;
std::string_view to_string(ModelAction v) noexcept;
std::string_view to_string(SafetyAction v) noexcept;
std::string_view to_string(Severity v) noexcept;
std::string_view to_string(PolicyAction v) noexcept;

/// Safety checker verdict: one flag, or one per image.
using NsfwFlags = std::variant<bool, std::vector<bool>>;

// -----------------------------------------------------------------------------------------------------------
// Typed builders. Required members are constructor parameters; optional ones are std::optional (or an empty
// vector) and omitted when unset. to_json() returns the event validated by validate_event, or the reason it
// is invalid (an empty required string, a malformed hash, an extra member colliding with a typed one, ...).

/// Members every event may carry, and further application members.
struct Context {
  std::optional<std::string> timestamp;  ///< RFC 3339; the record's sealed `ts` is authoritative
  std::optional<std::string> user_id;
  std::optional<std::string> tenant_id;
  std::optional<std::string> session_id;
  std::optional<std::string> ip_address;
  std::optional<std::string> user_agent;
  /// Application members merged into the event (an object). A member the builder sets itself, event_type
  /// included, is refused here: set it through its typed field.
  nlohmann::json extra = nlohmann::json::object();
};

struct GenerationSubmitted : Context {
  explicit GenerationSubmitted(std::string request_id_) : request_id(std::move(request_id_)) {}
  std::string request_id;
  std::optional<GenerationEvent::Request> request;  ///< serialized as GenerationEvent serializes it
  std::optional<std::string> model_version;
  std::optional<std::string> refiner_model;
  Result<nlohmann::json> to_json() const;
};

struct GenerationQueued : Context {
  explicit GenerationQueued(std::string request_id_) : request_id(std::move(request_id_)) {}
  std::string request_id;
  std::optional<std::int64_t> queue_position;
  Result<nlohmann::json> to_json() const;
};

struct GenerationStarted : Context {
  explicit GenerationStarted(std::string request_id_) : request_id(std::move(request_id_)) {}
  std::string request_id;
  std::optional<std::string> worker_id;
  std::optional<std::int64_t> queue_wait_ms;
  Result<nlohmann::json> to_json() const;
};

struct GenerationCompleted : Context {
  struct Output {
    std::optional<std::string> url;
    std::optional<std::string> path;
    std::optional<std::string> sha256;  ///< "sha256:<64 hex>" of the file (fooocus_audit::hash_file)
    std::optional<std::int64_t> width;
    std::optional<std::int64_t> height;
    std::optional<std::int64_t> file_size_bytes;
    std::optional<ImageFormat> format;
  };
  struct Safety {
    std::optional<NsfwFlags> has_nsfw_concepts;
    std::optional<std::string> safety_checker_version;
  };
  explicit GenerationCompleted(std::string request_id_) : request_id(std::move(request_id_)) {}
  std::string request_id;
  std::optional<std::int64_t> generation_duration_ms;
  std::optional<std::vector<Output>> outputs;
  std::optional<Safety> safety;
  Result<nlohmann::json> to_json() const;
};

struct GenerationFailed : Context {
  GenerationFailed(std::string request_id_, std::string error_details_)
      : request_id(std::move(request_id_)), error_details(std::move(error_details_)) {}
  std::string request_id;
  std::string error_details;
  std::optional<std::int64_t> retry_count;
  std::optional<std::int64_t> generation_duration_ms;
  Result<nlohmann::json> to_json() const;
};

struct GenerationCancelled : Context {
  explicit GenerationCancelled(std::string request_id_) : request_id(std::move(request_id_)) {}
  std::string request_id;
  std::optional<std::string> cancelled_by;
  std::optional<std::string> reason;
  Result<nlohmann::json> to_json() const;
};

struct GenerationAbandoned : Context {
  GenerationAbandoned(std::string request_id_, LastState last_state_, std::int64_t timeout_ms_)
      : request_id(std::move(request_id_)), last_state(last_state_), timeout_ms(timeout_ms_) {}
  std::string request_id;
  LastState last_state;
  std::int64_t timeout_ms;
  Result<nlohmann::json> to_json() const;
};

struct GenerationAnomaly : Context {
  GenerationAnomaly(std::string request_id_, std::string anomaly_)
      : request_id(std::move(request_id_)), anomaly(std::move(anomaly_)) {}
  std::string request_id;
  std::string anomaly;  ///< "completed_twice", "started_before_submitted", "event_after_terminal", ...
  std::optional<std::string> state;     ///< the tracker's state for the request
  std::optional<std::string> received;  ///< the event_type received
  Result<nlohmann::json> to_json() const;
};

struct WebhookDelivered : Context {
  WebhookDelivered(std::string request_id_, std::int64_t attempt_)
      : request_id(std::move(request_id_)), attempt(attempt_) {}
  std::string request_id;
  std::int64_t attempt;                 ///< 1 for the first attempt
  std::optional<std::int64_t> status;   ///< HTTP status
  std::optional<std::string> url_host;  ///< the host only: webhook URLs often carry secrets
  std::optional<bool> retry;
  Result<nlohmann::json> to_json() const;
};

struct WebhookFailed : Context {
  WebhookFailed(std::string request_id_, std::int64_t attempt_)
      : request_id(std::move(request_id_)), attempt(attempt_) {}
  std::string request_id;
  std::int64_t attempt;
  std::optional<std::int64_t> status;
  std::optional<std::string> url_host;
  std::optional<bool> retry;  ///< whether another attempt will follow
  std::optional<std::string> error;
  Result<nlohmann::json> to_json() const;
};

struct AuthSucceeded : Context {
  explicit AuthSucceeded(std::string user_id_) { user_id = std::move(user_id_); }
  std::optional<AuthMethod> method;
  std::optional<bool> mfa;
  Result<nlohmann::json> to_json() const;
};

struct AuthFailed : Context {
  AuthFailed() = default;
  std::optional<AuthMethod> method;
  std::optional<bool> mfa;
  std::optional<std::string> reason;
  Result<nlohmann::json> to_json() const;
};

struct SessionStarted : Context {
  SessionStarted(std::string session_id_, std::string user_id_) {
    session_id = std::move(session_id_);
    user_id = std::move(user_id_);
  }
  std::optional<SessionAuthMethod> auth_method;
  std::optional<bool> mfa_verified;
  Result<nlohmann::json> to_json() const;
};

struct SessionEnded : Context {
  SessionEnded(std::string session_id_, SessionEndReason end_reason_) : end_reason(end_reason_) {
    session_id = std::move(session_id_);
  }
  SessionEndReason end_reason;
  std::optional<std::int64_t> duration_ms;
  Result<nlohmann::json> to_json() const;
};

/// Members of every apikey.* event. key_id is an identifier, never the key: to_json() refuses key material.
struct ApiKeyEventBase : Context {
  explicit ApiKeyEventBase(std::string key_id_) : key_id(std::move(key_id_)) {}
  std::string key_id;
  std::optional<std::string> owner;  ///< user id of the key's owner
  std::optional<std::vector<std::string>> scopes;
  std::optional<std::string> actor;  ///< who created / used / rotated / revoked it

 protected:
  Result<nlohmann::json> build(std::string_view event_type, nlohmann::json more) const;
};

struct ApiKeyCreated : ApiKeyEventBase {
  using ApiKeyEventBase::ApiKeyEventBase;
  Result<nlohmann::json> to_json() const;
};
struct ApiKeyUsed : ApiKeyEventBase {
  using ApiKeyEventBase::ApiKeyEventBase;
  Result<nlohmann::json> to_json() const;
};
struct ApiKeyRevoked : ApiKeyEventBase {
  using ApiKeyEventBase::ApiKeyEventBase;
  Result<nlohmann::json> to_json() const;
};
struct ApiKeyRotated : ApiKeyEventBase {
  ApiKeyRotated(std::string key_id_, std::string new_key_id_)
      : ApiKeyEventBase(std::move(key_id_)), new_key_id(std::move(new_key_id_)) {}
  std::string new_key_id;
  Result<nlohmann::json> to_json() const;
};

struct PermissionChanged : Context {
  PermissionChanged(std::string subject_, std::string permission_, std::string changed_by_)
      : subject(std::move(subject_)),
        permission(std::move(permission_)),
        changed_by(std::move(changed_by_)) {}
  std::string subject;     ///< whose permission changed (user, group, service account)
  std::string permission;  ///< the role or permission
  std::optional<nlohmann::json> old_value;
  std::optional<nlohmann::json> new_value;
  std::string changed_by;
  Result<nlohmann::json> to_json() const;
};

struct ModelRegistered : Context {
  ModelRegistered(std::string model_id_, std::string version_, std::string sha256_,
                  std::string registered_by_)
      : model_id(std::move(model_id_)),
        version(std::move(version_)),
        sha256(std::move(sha256_)),
        registered_by(std::move(registered_by_)) {}
  std::string model_id;
  std::string version;
  std::optional<ModelKind> kind;
  std::string sha256;  ///< "sha256:<64 hex>" of the model file: the full hash, never truncated
  std::optional<std::int64_t> size_bytes;
  std::optional<std::string> path;
  std::optional<std::string> source;
  std::string registered_by;
  Result<nlohmann::json> to_json() const;
};

/// Members of model.approved, model.deprecated and model.revoked.
struct ModelStatusEventBase : Context {
  ModelStatusEventBase(std::string model_id_, std::string version_, std::string actor_)
      : model_id(std::move(model_id_)), version(std::move(version_)), actor(std::move(actor_)) {}
  std::string model_id;
  std::string version;
  std::string actor;
  std::optional<std::string> reason;

 protected:
  Result<nlohmann::json> build(std::string_view event_type) const;
};

struct ModelApproved : ModelStatusEventBase {
  using ModelStatusEventBase::ModelStatusEventBase;
  Result<nlohmann::json> to_json() const;
};
struct ModelDeprecated : ModelStatusEventBase {
  using ModelStatusEventBase::ModelStatusEventBase;
  Result<nlohmann::json> to_json() const;
};
struct ModelRevoked : ModelStatusEventBase {
  using ModelStatusEventBase::ModelStatusEventBase;
  Result<nlohmann::json> to_json() const;
};

struct ModelViolation : Context {
  ModelViolation(std::string request_id_, std::string model_id_, ModelProblem problem_, ModelAction action_)
      : request_id(std::move(request_id_)),
        model_id(std::move(model_id_)),
        problem(problem_),
        action(action_) {}
  std::string request_id;
  std::string model_id;
  std::optional<std::string> version;
  ModelProblem problem;
  ModelAction action;
  Result<nlohmann::json> to_json() const;
};

struct LoraTrained : Context {
  LoraTrained(std::string lora_id_, std::string version_, std::string dataset_id_, std::string trained_by_)
      : lora_id(std::move(lora_id_)),
        version(std::move(version_)),
        dataset_id(std::move(dataset_id_)),
        trained_by(std::move(trained_by_)) {}
  std::string lora_id;
  std::string version;
  std::string dataset_id;
  std::string trained_by;
  std::optional<nlohmann::json> parameters;  ///< an object (training hyper-parameters)
  std::optional<std::string> sha256;
  Result<nlohmann::json> to_json() const;
};

struct LoraApproved : Context {
  LoraApproved(std::string lora_id_, std::string version_, std::string approved_by_)
      : lora_id(std::move(lora_id_)), version(std::move(version_)), approved_by(std::move(approved_by_)) {}
  std::string lora_id;
  std::string version;
  std::string approved_by;
  Result<nlohmann::json> to_json() const;
};

struct LoraUsed : Context {
  LoraUsed(std::string lora_id_, std::string request_id_)
      : lora_id(std::move(lora_id_)), request_id(std::move(request_id_)) {}
  std::string lora_id;
  std::optional<std::string> version;
  std::optional<double> weight;
  std::string request_id;
  Result<nlohmann::json> to_json() const;
};

/// config.<suffix>: the suffix is `type_suffix` when given, else derived from `setting` (ASCII lowercased,
/// characters outside [a-z0-9_.-] replaced by '_', cut so the event type stays within 128 characters).
struct ConfigChanged : Context {
  ConfigChanged(std::string setting_, std::string changed_by_)
      : setting(std::move(setting_)), changed_by(std::move(changed_by_)) {}
  std::string setting;
  std::optional<nlohmann::json> old_value;
  std::optional<nlohmann::json> new_value;
  std::string changed_by;
  std::optional<std::string> approved_by;
  std::optional<std::string> type_suffix;  ///< e.g. "updated" for "config.updated"
  /// "config." + the suffix described above.
  std::string event_type() const;
  Result<nlohmann::json> to_json() const;
};

struct SafetyCheckCompleted : Context {
  SafetyCheckCompleted(std::string request_id_, std::string prompt_hash_, NsfwFlags has_nsfw_concepts_,
                       SafetyAction action_)
      : request_id(std::move(request_id_)),
        prompt_hash(std::move(prompt_hash_)),
        has_nsfw_concepts(std::move(has_nsfw_concepts_)),
        action(action_) {}
  std::string request_id;
  std::string prompt_hash;  ///< "hmac-sha256:<64 hex>" (keyed, preferred) or "sha256:<64 hex>"
  NsfwFlags has_nsfw_concepts;
  std::optional<std::string> safety_checker_version;
  SafetyAction action;
  Result<nlohmann::json> to_json() const;
};

/// Never carries the prompt: only its hash (validate_event refuses `prompt` and `prompt_sanitized`).
struct PolicyViolation : Context {
  PolicyViolation(std::string prompt_hash_, std::string rule_id_, std::string rule_name_, Severity severity_,
                  PolicyAction action_)
      : prompt_hash(std::move(prompt_hash_)),
        rule_id(std::move(rule_id_)),
        rule_name(std::move(rule_name_)),
        severity(severity_),
        action(action_) {}
  std::string prompt_hash;
  std::string rule_id;
  std::string rule_name;
  Severity severity;
  PolicyAction action;
  std::optional<std::string> request_id;
  Result<nlohmann::json> to_json() const;
};

}  // namespace fooocus_audit::events

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/events-inl.hpp"
#endif
