// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file detail/detect.hpp
/// The vocabulary shared by the built-in detectors (detail/pii_detectors.hpp, detail/secret_detectors.hpp),
/// the secret guard (secret_guard.hpp) and PromptSanitizer (prompt_sanitizer.hpp). docs/privacy.md describes
/// every detector. Detectors work on bytes: every pattern is ASCII, a byte >= 0x80 is never part of a match,
/// so a span never splits a UTF-8 code point.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace fooocus_audit::detect {

/// Every built-in detector. The names (detector_name) are stable and used in configuration; the numeric
/// values are not.
enum class Detector : std::uint8_t {
  // Personal data (detail/pii_detectors.hpp).
  email,
  phone,
  ssn,
  credit_card,
  iban,
  ipv4,
  ipv6,
  bitcoin_address,
  ethereum_address,
  date_of_birth,
  patient_id,
  // Secrets (detail/secret_detectors.hpp).
  aws_access_key,
  github_token,
  gitlab_token,
  slack_token,
  openai_key,
  anthropic_key,
  stripe_key,
  google_api_key,
  jwt,
  private_key,
  url_credentials,
  generic_secret,
};
inline constexpr std::size_t kDetectorCount = static_cast<std::size_t>(Detector::generic_secret) + 1;
inline constexpr Detector kFirstSecretDetector = Detector::aws_access_key;

/// "email", "credit_card", "aws_access_key", ...: the configuration name.
constexpr std::string_view detector_name(Detector d) noexcept {
  switch (d) {
    case Detector::email: return "email";
    case Detector::phone: return "phone";
    case Detector::ssn: return "ssn";
    case Detector::credit_card: return "credit_card";
    case Detector::iban: return "iban";
    case Detector::ipv4: return "ipv4";
    case Detector::ipv6: return "ipv6";
    case Detector::bitcoin_address: return "bitcoin_address";
    case Detector::ethereum_address: return "ethereum_address";
    case Detector::date_of_birth: return "date_of_birth";
    case Detector::patient_id: return "patient_id";
    case Detector::aws_access_key: return "aws_access_key";
    case Detector::github_token: return "github_token";
    case Detector::gitlab_token: return "gitlab_token";
    case Detector::slack_token: return "slack_token";
    case Detector::openai_key: return "openai_key";
    case Detector::anthropic_key: return "anthropic_key";
    case Detector::stripe_key: return "stripe_key";
    case Detector::google_api_key: return "google_api_key";
    case Detector::jwt: return "jwt";
    case Detector::private_key: return "private_key";
    case Detector::url_credentials: return "url_credentials";
    case Detector::generic_secret: return "generic_secret";
  }
  return "unknown";
}

/// The finding type, used in labels ("[EMAIL_REDACTED]") and findings: "EMAIL", "PHONE", "SSN",
/// "CREDIT_CARD", "IBAN", "IP_ADDRESS", "CRYPTO_ADDRESS", "DATE_OF_BIRTH", "PATIENT_ID", and for every
/// secret detector its name in upper case ("AWS_ACCESS_KEY", ..., "GENERIC_SECRET").
constexpr std::string_view detector_type(Detector d) noexcept {
  switch (d) {
    case Detector::email: return "EMAIL";
    case Detector::phone: return "PHONE";
    case Detector::ssn: return "SSN";
    case Detector::credit_card: return "CREDIT_CARD";
    case Detector::iban: return "IBAN";
    case Detector::ipv4:
    case Detector::ipv6: return "IP_ADDRESS";
    case Detector::bitcoin_address:
    case Detector::ethereum_address: return "CRYPTO_ADDRESS";
    case Detector::date_of_birth: return "DATE_OF_BIRTH";
    case Detector::patient_id: return "PATIENT_ID";
    case Detector::aws_access_key: return "AWS_ACCESS_KEY";
    case Detector::github_token: return "GITHUB_TOKEN";
    case Detector::gitlab_token: return "GITLAB_TOKEN";
    case Detector::slack_token: return "SLACK_TOKEN";
    case Detector::openai_key: return "OPENAI_KEY";
    case Detector::anthropic_key: return "ANTHROPIC_KEY";
    case Detector::stripe_key: return "STRIPE_KEY";
    case Detector::google_api_key: return "GOOGLE_API_KEY";
    case Detector::jwt: return "JWT";
    case Detector::private_key: return "PRIVATE_KEY";
    case Detector::url_credentials: return "URL_CREDENTIALS";
    case Detector::generic_secret: return "GENERIC_SECRET";
  }
  return "UNKNOWN";
}

constexpr bool is_secret(Detector d) noexcept {
  return static_cast<std::uint8_t>(d) >= static_cast<std::uint8_t>(kFirstSecretDetector);
}

/// Looks a detector up by its configuration name.
constexpr bool parse_detector(std::string_view name, Detector* out) noexcept {
  for (std::size_t i = 0; i < kDetectorCount; ++i) {
    const auto d = static_cast<Detector>(i);
    if (detector_name(d) == name) {
      *out = d;
      return true;
    }
  }
  return false;
}

/// A set of detectors: bit i is Detector i.
using DetectorMask = std::uint64_t;
constexpr DetectorMask mask_of(Detector d) noexcept { return DetectorMask{1} << static_cast<unsigned>(d); }
constexpr DetectorMask kAllDetectors = (DetectorMask{1} << kDetectorCount) - 1;
constexpr DetectorMask kSecretDetectors = kAllDetectors & ~(mask_of(kFirstSecretDetector) - 1);
constexpr DetectorMask kPiiDetectors = kAllDetectors & ~kSecretDetectors;

/// One thing found: the byte span [begin, end) of the scanned text, who found it and how sure it is
/// (1.0: validated by a checksum or an unambiguous format; lower: format only, or context words needed).
struct Match {
  std::size_t begin = 0;
  std::size_t end = 0;
  Detector detector = Detector::email;
  float confidence = 1.0f;
};

}  // namespace fooocus_audit::detect
