// SPDX-License-Identifier: Apache-2.0
// Shared by every consumer in tests/package: proves headers, library and dependencies are usable
// exactly as a downstream project would use them.
#include <fooocus_audit/common.hpp>
#include <fooocus_audit/detail/crypto.hpp>

#include <cstdio>
#include <string>

int main() {
  const std::string hex = fooocus_audit::detail::to_hex(fooocus_audit::detail::sha256("abc"));
  std::printf("fooocus_audit %s sha256(\"abc\") = %s\n", FOOOCUS_AUDIT_VERSION_STRING, hex.c_str());
  return hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" ? 0 : 1;
}
