// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file model_registry.hpp
/// ModelVersionRegistry: which model files (base, refiner, LoRA, VAE) may run, identified by their SHA-256,
/// with a lifecycle pending -> approved -> deprecated -> revoked and the provenance of LoRAs. Every change is
/// an event in the audit log (docs/events.md: model.*, lora.*) and the log is the only store: open() rebuilds
/// the registry by replaying those events from a log that must verify.

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/audit_logger.hpp"
#include "fooocus_audit/chain_verifier.hpp"
#include "fooocus_audit/common.hpp"
#include "fooocus_audit/events.hpp"

namespace fooocus_audit {

/// The `kind` of model.registered: the event schema's enum (docs/events.md §7.1).
using ModelKind = events::ModelKind;
enum class ModelState { pending, approved, deprecated, revoked };

/// "base", "refiner", "lora", "vae", "other" (the `kind` of model.registered).
std::string_view model_kind_name(ModelKind k) noexcept;
std::optional<ModelKind> parse_model_kind(std::string_view s) noexcept;
/// "pending", "approved", "deprecated", "revoked".
std::string_view model_state_name(ModelState s) noexcept;

/// The SHA-256 and size of a file.
struct FileDigest {
  std::string sha256;  ///< "sha256:<64 lowercase hex>"
  std::uint64_t size_bytes = 0;
};

/// Streams a file (multi-GB .safetensors included) through SHA-256 (OpenSSL EVP, fetched once) in 256 KiB
/// reads with sequential read-ahead advice; memory stays flat. Errors: not_found, io_error (path and errno
/// text), invalid_argument (not a regular file).
Result<FileDigest> hash_model_file(const std::string& path);

/// A change of state and who made it, when.
struct ModelTransition {
  ModelState to = ModelState::pending;
  std::string actor;
  std::string reason;  ///< "" when none was given
  std::string at;      ///< RFC 3339 UTC, the event's `timestamp` (else the record's `ts`)
  friend bool operator==(const ModelTransition& a, const ModelTransition& b) {
    return a.to == b.to && a.actor == b.actor && a.reason == b.reason && a.at == b.at;
  }
};

/// How a LoRA was made (lora.trained).
struct LoraProvenance {
  std::string trained_by;
  std::string dataset_id;
  nlohmann::json parameters;  ///< an object, or null when none were recorded
  std::string recorded_at;    ///< RFC 3339 UTC
  friend bool operator==(const LoraProvenance& a, const LoraProvenance& b) {
    return a.trained_by == b.trained_by && a.dataset_id == b.dataset_id && a.parameters == b.parameters &&
           a.recorded_at == b.recorded_at;
  }
};

/// One registered version of a model, as the log states it.
struct ModelVersion {
  std::string model_id;
  std::string version;
  ModelKind kind = ModelKind::other;
  ModelState state = ModelState::pending;
  std::string sha256;                       ///< "sha256:<64 lowercase hex>"
  std::optional<std::uint64_t> size_bytes;  ///< known when the file was hashed at registration
  std::string path;                         ///< the file as registered ("" when only a hash was given)
  std::string source;
  std::string registered_by;
  std::string registered_at;                 ///< RFC 3339 UTC
  std::vector<ModelTransition> transitions;  ///< approval, deprecation, revocation, in order
  std::optional<LoraProvenance> lora;        ///< kind lora: the training record, once there is one

  friend bool operator==(const ModelVersion& a, const ModelVersion& b) {
    return a.model_id == b.model_id && a.version == b.version && a.kind == b.kind && a.state == b.state &&
           a.sha256 == b.sha256 && a.size_bytes == b.size_bytes && a.path == b.path && a.source == b.source &&
           a.registered_by == b.registered_by && a.registered_at == b.registered_at &&
           a.transitions == b.transitions && a.lora == b.lora;
  }
  friend bool operator!=(const ModelVersion& a, const ModelVersion& b) { return !(a == b); }
};

/// The JSON form of a version (what `fooocus-audit model list --json` prints): model_id, version, kind,
/// state, sha256, size_bytes (null when unknown), path, source, registered_by, registered_at, transitions
/// [{state, actor, reason, at}] and lora ({trained_by, dataset_id, parameters, recorded_at} or null).
nlohmann::json model_version_json(const ModelVersion& m);

/// What register_model() needs. Either `path` (the file is hashed, streaming) or `sha256`, or both (then the
/// file must have that hash: a download is checked against its published checksum).
struct ModelRegistration {
  std::string model_id;  ///< required
  std::string version;   ///< required
  ModelKind kind = ModelKind::base;
  std::string path;
  std::string sha256;         ///< "sha256:<hex>" or bare 64 hex (either case)
  std::string source;         ///< where the file came from (URL, vendor, training run)
  std::string registered_by;  ///< required
};

/// What record_lora_training() needs (lora.trained).
struct LoraTraining {
  std::string lora_id;                  ///< required: a registered version of kind lora, still pending
  std::string version;                  ///< required
  std::string dataset_id;               ///< required
  std::string trained_by;               ///< required
  nlohmann::json parameters = nullptr;  ///< an object (learning rate, steps, base model, ...) or null
};

/// The outcome of verify_file().
struct FileCheck {
  enum class Outcome { unchanged, modified, missing };
  Outcome outcome = Outcome::missing;
  std::string path;             ///< the file checked
  std::string expected_sha256;  ///< as registered
  std::string actual_sha256;    ///< "" when missing, or when a different size already proved the change
  std::optional<std::uint64_t> expected_size;
  std::uint64_t actual_size = 0;
  bool unchanged() const noexcept { return outcome == Outcome::unchanged; }
};

/// What check_generation() does about a problem.
enum class ViolationPolicy {
  block,  ///< the generation is refused (model.violation action "blocked")
  flag,   ///< it may run; the problem is recorded (action "flagged")
};

/// The `problem` of model.violation.
using ModelProblem = events::ModelProblem;
std::string_view model_problem_name(ModelProblem p) noexcept;

/// A model a generation is about to use.
struct ModelUse {
  std::string model_id;
  /// "" : the version whose SHA-256 is the file's (with `path`), else the newest approved version (else the
  /// newest registered one, whose state is then the problem).
  std::string version;
  /// "" : trust the name. Otherwise the file about to be loaded: hashed and compared with the registration
  /// (costs a full read per call: about 1 s per 2 GB from the page cache).
  std::string path;
  double weight = 1.0;  ///< LoRAs: recorded in lora.used
};

/// The models of one generation request.
struct GenerationModels {
  std::string request_id;  ///< required
  std::optional<ModelUse> base;
  std::optional<ModelUse> refiner;
  std::vector<ModelUse> loras;
  std::string user_id;  ///< optional, copied into the events
};

struct ModelViolation {
  std::string role;  ///< "base", "refiner" or "lora"
  std::string model_id;
  std::string version;  ///< the version resolved or asked for ("" when none could be)
  ModelProblem problem = ModelProblem::unregistered;
  std::string detail;  ///< human-readable
};

struct GenerationDecision {
  bool allowed = true;                     ///< false only under ViolationPolicy::block
  std::vector<ModelViolation> violations;  ///< each one written as a model.violation event
  /// The versions the request resolved to, role by role ("" version when none could be resolved).
  struct Resolved {
    std::string role, model_id, version;
  };
  std::vector<Resolved> resolved;
};

/// An event in the log that open() did not apply because it is not a legal step from the state before it (an
/// approval of an unknown model, a second registration, a field missing, ...). The log stays the source of
/// truth: such events are reported, never dropped silently, and never make open() fail.
struct ReplayNote {
  std::uint64_t seq = 0;
  std::string event_type;
  std::string detail;
};

struct RegistryOptions {
  /// How open() checks the log (keys, checkpoint anchors). Without `anchor`, the logger's head is the anchor.
  VerifyOptions verify;
  /// Clock for the `timestamp` of the events, in microseconds since the Unix epoch (UTC); tests inject one.
  /// Default: CLOCK_REALTIME.
  std::function<std::int64_t()> clock_micros;
};

/// The registry of model versions, bound to the AuditLogger it writes its events to; the logger must outlive
/// it.
///
/// Thread safety: every member function may be called from any thread concurrently. Changes are serialized
/// and written to the log in the order they are applied. Files are hashed without holding the registry's
/// lock.
///
/// Durability: an operation returns once its event is accepted by the logger (AuditLogger::log); call
/// logger.flush() when it must be durable. An event that never reaches the disk is missing after a restart,
/// and so is everything logged after it: the registry rebuilt by open() always matches the log.
///
/// Only the events written through this object change it. model.* and lora.* events logged some other way
/// (the CLI's `append`, another process) while it is open are applied at the next open() (or refused there,
/// see ReplayNote).
class ModelVersionRegistry {
 public:
  /// Rebuilds the registry from the log in `log_dir` ("" : logger.dir(); another directory is refused):
  /// flushes the logger, verifies the whole log with ChainVerifier (anchored at the logger's head) while it
  /// collects the model.* and lora.* records, then replays them in order. Errors: corruption (the log does
  /// not verify: the first finding is named), invalid_argument, io_error, not_found.
  static Result<ModelVersionRegistry> open(AuditLogger& logger, const std::string& log_dir = {},
                                           RegistryOptions options = {});

  ModelVersionRegistry(ModelVersionRegistry&&) noexcept;
  ModelVersionRegistry& operator=(ModelVersionRegistry&&) noexcept;
  ~ModelVersionRegistry();

  /// Registers a version in state pending and writes model.registered (with the file's SHA-256 and size). The
  /// file is hashed before the lock is taken. Errors: invalid_argument (a field missing or malformed, the
  /// version exists already, the file does not have the given hash), not_found / io_error (the file), and the
  /// logger's errors.
  Result<ModelVersion> register_model(const ModelRegistration& r);

  /// pending -> approved. Writes model.approved, or lora.approved for kind lora, which needs the LoRA's
  /// training record first (record_lora_training). Errors: not_found (no such version), invalid_argument (not
  /// pending, no training record, empty actor), the logger's errors.
  Status approve(const std::string& model_id, const std::string& version, const std::string& actor,
                 const std::string& reason = {});
  /// approved -> deprecated (model.deprecated). Errors as approve().
  Status deprecate(const std::string& model_id, const std::string& version, const std::string& actor,
                   const std::string& reason = {});
  /// pending, approved or deprecated -> revoked (model.revoked); revoked is final. Errors as approve().
  Status revoke(const std::string& model_id, const std::string& version, const std::string& actor,
                const std::string& reason = {});

  /// Records who trained a registered, still pending LoRA version and on which dataset (lora.trained, with
  /// the registered SHA-256 so the record names the file). Once per version. Errors: not_found,
  /// invalid_argument (not kind lora, not pending, already recorded, parameters not an object or null), the
  /// logger's errors.
  Status record_lora_training(const LoraTraining& t);

  /// Has the file changed since registration? `path` "" : the registered path. A file of another size is
  /// `modified` without being read; otherwise it is hashed in full. Writes nothing to the log.
  /// Errors: not_found (no such version), invalid_argument (no path registered and none given), io_error.
  Result<FileCheck> verify_file(const std::string& model_id, const std::string& version,
                                const std::string& path = {}) const;

  /// May these models run for this request? Each problem (unregistered, unapproved, deprecated, revoked,
  /// modified: a given file whose hash is not the registered one) is written as model.violation with the
  /// action the policy implies, then, if the generation is allowed, lora.used for each LoRA. Files given by
  /// path are hashed before the lock is taken. Errors: invalid_argument (no request_id, an empty model id, a
  /// weight that is not finite), not_found / io_error (a given file cannot be read), the logger's errors. An
  /// error means the decision could not be recorded: do not run the generation.
  Result<GenerationDecision> check_generation(const GenerationModels& g,
                                              ViolationPolicy policy = ViolationPolicy::block);

  /// One version, if registered.
  std::optional<ModelVersion> find(const std::string& model_id, const std::string& version) const;
  /// Every version, in registration order.
  std::vector<ModelVersion> list() const;
  /// Events open() could not apply (see ReplayNote), in log order.
  std::vector<ReplayNote> replay_notes() const;
  /// model.* and lora.* records open() read from the log (applied or not).
  std::uint64_t records_replayed() const;

 private:
  struct Impl;
  explicit ModelVersionRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/model_registry-inl.hpp"
#endif
