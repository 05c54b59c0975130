// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file detail/pii_detectors.hpp
/// The built-in personal-data detectors: email, phone (E.164, US, UK, DE, FR, IN), US SSN, payment cards
/// (Luhn + issuer prefix/length), IBAN (per-country length + mod-97), IPv4, IPv6, bitcoin (base58check,
/// bech32/bech32m) and ethereum addresses, dates of birth and patient identifiers after context words.
/// One hand-written pass over the bytes; every re-scan is bounded by a constant window, so the time is
/// linear in the input. docs/privacy.md §3 describes each detector, its validation and its confidence.

#include <string_view>
#include <vector>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/detect.hpp"

namespace fooocus_audit::detect {

/// Appends to `out` every match of the enabled PII detectors (bits of `enabled` outside kPiiDetectors are
/// ignored) found in `text`. Matches may overlap each other; order is unspecified. Never throws except
/// std::bad_alloc. Linear time in text.size() for any input.
void scan_pii(std::string_view text, DetectorMask enabled, std::vector<Match>& out);

}  // namespace fooocus_audit::detect

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/detail/pii_detectors-inl.hpp"
#endif
