// SPDX-License-Identifier: Apache-2.0
// verify_chain: the bundled verifier, as small as it can be. Verifies a log directory, one segment file
// or standard input ("-"), optionally against an anchor kept elsewhere, and prints every finding.
//
//   verify_chain PATH [--anchor FILE] [--json]
//
// Exit status: 0 intact, 1 tampered or damaged, 2 usage or I/O error.

#include <unistd.h>

#include <cstdio>
#include <string>

#include "fooocus_audit/chain_verifier.hpp"

int main(int argc, char** argv) {
  namespace fa = fooocus_audit;
  std::string path;
  bool json = false;
  fa::VerifyOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "--anchor" && i + 1 < argc) {
      auto anchor = fa::Anchor::load(argv[++i]);
      if (!anchor) {
        std::fprintf(stderr, "verify_chain: %s\n", anchor.status().to_string().c_str());
        return 2;
      }
      options.anchor = anchor.value();
    } else if (path.empty()) {
      path = arg;
    } else {
      path.clear();
      break;
    }
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: verify_chain PATH [--anchor FILE] [--json]\n");
    return 2;
  }

  fa::ChainVerifier verifier(options);
  auto result = path == "-" ? verifier.verify_fd(STDIN_FILENO) : verifier.verify_path(path);
  if (!result) {
    std::fprintf(stderr, "verify_chain: %s\n", result.status().to_string().c_str());
    return 2;
  }
  const std::string report = json ? fa::format_summary_json(*result) + "\n" : fa::format_summary_text(*result);
  std::fputs(report.c_str(), stdout);
  return result->intact ? 0 : 1;
}
