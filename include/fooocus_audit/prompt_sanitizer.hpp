// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file prompt_sanitizer.hpp
/// PromptSanitizer: finds personal data and secrets in a prompt with validated detectors (checksums, ranges,
/// context words; detail/pii_detectors.hpp, detail/secret_detectors.hpp), custom RE2 patterns and an
/// allow-list, and replaces each finding by a label (`[EMAIL_REDACTED]`), a keyed pseudonym
/// (`[EMAIL:k3v9...]`, HMAC-SHA256 under a per-tenant key) or a reversible encrypted span
/// (`[EMAIL:enc:<kid>:<base64url>]`, AES-256-SIV or AES-256-GCM). It also computes the prompt's keyed hash
/// and encrypts whole event fields (docs/log-format.md §12.1). docs/privacy.md is the reference: the
/// configuration (§2), the constructions of tokens, hashes and ciphertexts so that an outsider can recompute
/// them (§5), the command line (§6), accuracy and speed (§7).
///
/// Time is linear in the prompt's length for any input (the detectors are hand-written single passes, custom
/// patterns are RE2). The compiled library links RE2 privately; in header-only mode this header needs RE2's
/// headers and library, like content_policy.hpp.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/detect.hpp"

namespace fooocus_audit {

/// How a finding is replaced in the sanitized text (docs/privacy.md §5).
enum class ReplacementMode : std::uint8_t {
  label,    ///< "[EMAIL_REDACTED]": the seed article's form; no key needed
  token,    ///< "[EMAIL:<16 base32>]": keyed pseudonym, equal values give equal tokens within a tenant
  encrypt,  ///< "[EMAIL:enc:<kid>:<base64url>]": reversible by PromptSanitizer::reveal with the tenant key
};
/// "label", "token", "encrypt".
constexpr std::string_view to_string(ReplacementMode m) noexcept {
  switch (m) {
    case ReplacementMode::label: return "label";
    case ReplacementMode::token: return "token";
    case ReplacementMode::encrypt: return "encrypt";
  }
  return "unknown";
}

/// What sanitize() does with ill-formed UTF-8.
enum class InvalidUtf8Policy : std::uint8_t {
  error,    ///< refuse the prompt: Code::invalid_argument naming the byte offset
  replace,  ///< replace each maximal ill-formed subpart by U+FFFD, then sanitize
};

/// The form of prompt_hash.
enum class PromptHashMode : std::uint8_t {
  keyed,  ///< "hmac-sha256:<64 hex>" under the tenant's hash subkey (default; needs a tenant key)
  plain,  ///< "sha256:<64 hex>": anyone who reads the log can confirm a guessed prompt
};

/// The cipher of encrypted spans and fields.
enum class EncryptionAlgorithm : std::uint8_t {
  aes_256_siv,  ///< RFC 5297, deterministic: equal values give equal ciphertexts (default)
  aes_256_gcm,  ///< random 96-bit nonce: equal values give unrelated ciphertexts
};
/// "AES-256-SIV", "AES-256-GCM": the `alg` of §12.1 of docs/log-format.md.
constexpr std::string_view to_string(EncryptionAlgorithm a) noexcept {
  return a == EncryptionAlgorithm::aes_256_siv ? "AES-256-SIV" : "AES-256-GCM";
}

/// The per-tenant secret behind tokens, keyed hashes and encryption. Move-only; the bytes are wiped when the
/// object dies or is moved from, and never appear in a message or a string the library prints.
class TenantKey {
 public:
  static constexpr std::size_t kMinBytes = 32;
  static constexpr std::size_t kMaxBytes = 1024;
  /// First token of a key file: "fooocus-audit-tenant-key-v1 <lowercase hex of 32..1024 bytes>\n".
  static constexpr std::string_view kMagic = "fooocus-audit-tenant-key-v1";

  TenantKey(TenantKey&& other) noexcept;
  TenantKey& operator=(TenantKey&& other) noexcept;
  TenantKey(const TenantKey&) = delete;
  TenantKey& operator=(const TenantKey&) = delete;
  ~TenantKey();

  /// A key from raw bytes (invalid_argument: fewer than 32 or more than 1024 bytes).
  static Result<TenantKey> from_bytes(std::string_view bytes);
  /// 32 fresh random bytes (Code::internal if OpenSSL fails).
  static Result<TenantKey> generate();
  /// Reads a key file. Refuses a file that is not regular or grants any group/other permission
  /// (invalid_argument, "run chmod 600 <path>"), and a malformed file (invalid_argument, without its bytes);
  /// not_found / io_error from the OS.
  static Result<TenantKey> load(const std::string& path);
  /// Creates `path` (O_EXCL, mode 0600) holding the key-file text; io_error if it exists.
  Status save(const std::string& path) const;

  /// The key bytes. Secret.
  std::string_view bytes() const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }

 private:
  TenantKey() = default;
  std::vector<std::uint8_t> bytes_;
};

/// Per-detector settings.
struct DetectorSettings {
  bool enabled = true;
  std::optional<ReplacementMode> mode;  ///< unset: SanitizerConfig::default_mode
};

/// A pattern from configuration, reported like a built-in detector.
struct CustomPattern {
  std::string name;     ///< 1..64 of [a-z0-9_], starting with a letter; not a built-in detector's name
  std::string pattern;  ///< RE2 syntax, unanchored; UTF-8 mode, so a match never splits a code point
  std::string type;     ///< the label "[<type>_REDACTED]": 1..48 of [A-Z0-9_]; empty: name in upper case
  std::optional<ReplacementMode> mode;  ///< unset: default_mode
  double confidence = 0.9;              ///< (0, 1]
};

/// Values that are never redacted even when a detector finds them.
struct AllowList {
  std::vector<std::string> values;    ///< a match whose bytes equal one of these is kept (case-sensitive)
  std::vector<std::string> patterns;  ///< a match fully matched by one of these RE2 patterns is kept
};

/// Everything PromptSanitizer::create needs except key bytes. Plain data: copy it, edit it, load it from
/// JSON (docs/privacy.md §2 lists every member).
struct SanitizerConfig {
  ReplacementMode default_mode = ReplacementMode::label;
  std::array<DetectorSettings, detect::kDetectorCount> detectors{};  ///< indexed by detect::Detector
  std::vector<CustomPattern> custom_patterns;
  AllowList allow;
  InvalidUtf8Policy invalid_utf8 = InvalidUtf8Policy::error;
  PromptHashMode prompt_hash = PromptHashMode::keyed;
  EncryptionAlgorithm encryption = EncryptionAlgorithm::aes_256_siv;
  std::string tenant_id;        ///< mixed into every derived key: tenants never share tokens or ciphertexts
  std::string tenant_key_file;  ///< loaded by create() when no key is passed; empty: none
  std::size_t max_input_bytes = std::size_t{16} << 20;  ///< larger prompts: Code::too_large
  std::int64_t re2_max_mem = std::int64_t{8} << 20;      ///< RE2 memory budget per custom/allow pattern

  DetectorSettings& detector(detect::Detector d) noexcept { return detectors[static_cast<std::size_t>(d)]; }
  const DetectorSettings& detector(detect::Detector d) const noexcept {
    return detectors[static_cast<std::size_t>(d)];
  }
  /// The mode a built-in detector's findings get.
  ReplacementMode mode_of(detect::Detector d) const noexcept { return detector(d).mode.value_or(default_mode); }
  /// The enabled built-in detectors.
  detect::DetectorMask enabled_mask() const noexcept;

  /// From a JSON object (docs/privacy.md §2). Every unknown member, wrong type or value is refused with
  /// Code::invalid_argument and a message naming the member ("detectors.phone.mode: must be one of label,
  /// token, encrypt"). RE2 patterns are compiled by PromptSanitizer::create, not here.
  static Result<SanitizerConfig> from_json(const nlohmann::json& j);
  /// From JSON text; syntax errors name `source`, the line and the column.
  static Result<SanitizerConfig> parse(std::string_view json_text, std::string_view source = "<config>");
  /// From a file (at most 1 MiB); not_found / io_error from the OS, invalid_argument "<path>: <reason>".
  static Result<SanitizerConfig> from_file(const std::string& path);
  /// The configuration as JSON that from_json accepts (every member written).
  nlohmann::json to_json() const;
};

/// One finding, without its value.
struct SanitizeFinding {
  std::string type;      ///< "EMAIL", "CREDIT_CARD", ..., or a custom pattern's type
  std::string detector;  ///< "email", "credit_card", ..., or a custom pattern's name
  std::size_t begin = 0, end = 0;          ///< byte span in the input (after U+FFFD repair, if any)
  std::size_t out_begin = 0, out_end = 0;  ///< byte span of the replacement in the output
  double confidence = 1.0;
  ReplacementMode mode = ReplacementMode::label;
};

/// What sanitize() returns.
struct SanitizeResult {
  std::string text;                       ///< the sanitized prompt (valid UTF-8)
  std::vector<SanitizeFinding> findings;  ///< in text order, non-overlapping
  std::string prompt_hash;                ///< of the raw input bytes, as PromptSanitizer::prompt_hash
  std::size_t invalid_utf8_replaced = 0;  ///< U+FFFD substitutions made (InvalidUtf8Policy::replace)

  /// The stable schema (docs/privacy.md §1; the C ABI returns exactly this):
  /// {"text":…,"prompt_hash":…,"findings":[{"type","detector","begin","end","out_begin","out_end",
  /// "confidence","mode"}]}
  nlohmann::json to_json() const;
};

namespace detail {
struct SanitizerState;  // compiled patterns and derived keys (prompt_sanitizer-inl.hpp)
}

/// The sanitizer. Cheap to copy (copies share the compiled patterns and keys, which are wiped when the last
/// copy dies). Thread safety: every const member function may run concurrently on one object.
class PromptSanitizer {
 public:
  /// Compiles the configuration. The key: `key` when given, else config.tenant_key_file when set, else none.
  /// A key is required when any mode is `token` or `encrypt` or prompt_hash is `keyed` (invalid_argument
  /// saying so). Other errors (invalid_argument): a custom or allow pattern RE2 cannot compile (naming it,
  /// with RE2's message), duplicate custom names; and those of TenantKey::load.
  static Result<PromptSanitizer> create(SanitizerConfig config);
  static Result<PromptSanitizer> create(SanitizerConfig config, TenantKey key);

  /// Sanitizes one prompt. Errors: too_large (above max_input_bytes), invalid_argument (ill-formed UTF-8 under
  /// InvalidUtf8Policy::error: "invalid UTF-8 at byte <offset>"), internal (OpenSSL failure).
  /// Overlapping findings are resolved by rank (docs/privacy.md §1): secrets before custom patterns before
  /// personal data, then higher confidence, then the longer span, then the earlier start; the winner's span is
  /// widened to cover every candidate it overlaps (transitively), so no part of a detected value survives.
  Result<SanitizeResult> sanitize(std::string_view text) const;

  /// "hmac-sha256:<hex>" (keyed) or "sha256:<hex>" (plain) of the raw bytes.
  std::string prompt_hash(std::string_view raw) const;

  /// The token of `value` as detector type `type` would get it (for correlation outside prompts, e.g. a
  /// user id). invalid_argument without a key, or when `type` is not 1..48 of [A-Z0-9_].
  Result<std::string> token_for(std::string_view type, std::string_view value) const;

  /// The plaintext of an encrypted span "[TYPE:enc:<kid>:<base64url>]" (brackets optional). Errors:
  /// invalid_argument (not an encrypted span, no key, key id of another key or tenant), corruption
  /// ("authentication failed": wrong key, altered ciphertext or type).
  Result<std::string> reveal(std::string_view span) const;

  /// Encrypts a whole value: {"fa_enc":{"alg":…,"kid":…,"ct":"<base64>"}} (docs/log-format.md §12.1).
  /// invalid_argument without a key, or for an empty value under AES-256-SIV.
  Result<nlohmann::json> encrypt_field(std::string_view value) const;
  /// The reverse; errors as reveal().
  Result<std::string> decrypt_field(const nlohmann::json& encrypted) const;

  /// "": no key; else the 16 lowercase hex characters naming this tenant key (docs/privacy.md §5.4).
  const std::string& key_id() const noexcept;
  const SanitizerConfig& config() const noexcept;

 private:
  explicit PromptSanitizer(std::shared_ptr<const detail::SanitizerState> s) : state_(std::move(s)) {}
  static Result<PromptSanitizer> build(SanitizerConfig config, const TenantKey* key);
  std::shared_ptr<const detail::SanitizerState> state_;
};

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/prompt_sanitizer-inl.hpp"
#endif
