// SPDX-License-Identifier: Apache-2.0
#pragma once
// One line per finding of a verification, for test failure messages.

#include <sstream>
#include <string>

#include "fooocus_audit/chain_verifier.hpp"

namespace fa_test {

/// "reason seq@segment+offset; ..." for failure messages.
inline std::string describe(const fooocus_audit::VerifySummary& s) {
  std::ostringstream o;
  o << (s.intact ? "intact" : "NOT intact") << ", " << s.findings_total << " finding(s):";
  for (const fooocus_audit::Finding& f : s.findings) {
    o << "\n  " << fooocus_audit::reason_name(f.reason) << " seq=" << (f.seq ? std::to_string(*f.seq) : "-")
      << (f.seq_inferred ? "?" : "") << " count=" << f.count << " " << f.segment << "@" << f.offset << ": "
      << f.detail;
  }
  return o.str();
}

}  // namespace fa_test
