// SPDX-License-Identifier: Apache-2.0
// The content policy in header-only mode: built against fooocus_audit::header_only (which links RE2) through
// the umbrella header, so a header-only user gets ContentPolicyEnforcer with nothing more than the target.
#include <cstdio>

#include "fooocus_audit/fooocus_audit.hpp"

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#error "this program must be built in header-only mode"
#endif

int main() {
  namespace fa = fooocus_audit;
  auto policy = fa::ContentPolicyEnforcer::parse(
      R"({"rules": [{"id": "w1", "name": "Weapons", "severity": "high", "whole_words": ["ghost gun"]}]})");
  if (!policy) {
    std::fprintf(stderr, "%s\n", policy.status().to_string().c_str());
    return 1;
  }
  const bool ok =
      policy->check("a Ghost Gun!").reject() && policy->check("ghost guns").allowed &&
      policy->hash_prompt("abc") == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  std::printf("policy_header_only: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
