// SPDX-License-Identifier: Apache-2.0
// The README's example: log a generation and an auth failure, flush, verify.
#include <cstdio>

#include "fooocus_audit/fooocus_audit.hpp"

int main(int argc, char** argv) {
  namespace fa = fooocus_audit;
  fa::LoggerOptions options;
  options.dir = argc > 1 ? argv[1] : "audit-log";     // created if missing; files are 0600
  options.durability = fa::Durability::group_commit;  // fdatasync at most every 10 ms
  auto logger = fa::AuditLogger::open(options);
  if (!logger) return std::fprintf(stderr, "%s\n", logger.status().to_string().c_str()), 2;

  fa::GenerationEvent g;  // the seed article's section 2.2 event, serialized without a JSON tree
  g.request_id = "req_764cabcf";
  g.user_id = "alice@enterprise.com";
  g.request.prompt_sanitized = "luxury watch on marble surface";
  g.processing.model_version = "sd_xl_base_1.0";
  fa::Status s = (*logger)->log(g);
  if (s) s = (*logger)->log({{"event_type", "auth.failed"}, {"user_id", "mallory"}, {"method", "api_key"}});
  if (s) s = (*logger)->flush();  // returns once both records are durable
  if (s) s = (*logger)->close();
  if (!s) return std::fprintf(stderr, "%s\n", s.to_string().c_str()), 2;

  auto report = fa::ChainVerifier().verify_path(options.dir);
  if (!report) return std::fprintf(stderr, "%s\n", report.status().to_string().c_str()), 2;
  std::printf("%s", fa::format_summary_text(*report).c_str());
  return report->intact ? 0 : 1;
}
