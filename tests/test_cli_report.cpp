// SPDX-License-Identifier: Apache-2.0
// fooocus-audit report as a separate process: exit codes 0/1/2, formats, --out, --month/--from/--to, --tenant,
// the NOT VERIFIED first line of a tampered log, and --help.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "support/cli_support.hpp"
#include "support/log_fixture.hpp"
#include "support/report_workload.hpp"

using namespace fa_test;
using ojson = nlohmann::ordered_json;

#ifdef FA_CLI_PATH

namespace {
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }
}  // namespace

TEST_CASE("cli report: an intact log exits 0 in every format and the figures match the library", "[report][cli]") {
  TempDir dir, outputs, io;
  report_workload::write(dir.path(), outputs.path());
  Run j = run_cli({"report", dir.path(), "--month", "2026-03", "--tenant", "acme_corp"});
  INFO(j.err);
  REQUIRE(j.status == 0);
  CHECK(first_line(j.out).rfind("{\"banner\": \"VERIFIED: log ", 0) == 0);
  const ojson rep = ojson::parse(j.out);
  CHECK(rep["kind"] == "monthly");
  CHECK(rep["executive_summary"]["total_generations"] == 5);
  CHECK(rep["access_summary"]["failed_authentications"] == 3);
  CHECK(rep["tenant"] == "acme_corp");

  // --from/--to give the same report as --month.
  Run ft = run_cli({"report", dir.path(), "--from", "2026-03-01", "--to", "2026-04-01T00:00:00Z", "--tenant",
                    "acme_corp"});
  REQUIRE(ft.status == 0);
  ojson a = ojson::parse(ft.out), b = rep;
  a.erase("generated_at");
  b.erase("generated_at");
  CHECK(a == b);

  Run md = run_cli({"report", dir.path(), "--format", "md", "--kind", "generations", "--out", io / "r.md"});
  REQUIRE(md.status == 0);
  CHECK(md.out.empty());
  CHECK(contains(md.err, io / "r.md"));
  const std::string mdtext = read_bytes(io / "r.md");
  CHECK(first_line(mdtext).rfind("VERIFIED: log ", 0) == 0);
  CHECK(contains(mdtext, "# Generation Summary Report"));

  Run html = run_cli({"report", dir.path(), "--format", "html", "--kind", "access", "--tenant", "beta_inc",
                      "--out", io / "r.html"});
  REQUIRE(html.status == 0);
  const std::string page = read_bytes(io / "r.html");
  CHECK(contains(page, "eve@beta.example"));
  CHECK_FALSE(contains(page, "alice@acme.example"));
  struct stat st {};
  REQUIRE(::stat((io / "r.html").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}

TEST_CASE("cli report: a tampered log exits 1 and says NOT VERIFIED on the first line", "[report][cli]") {
  TempDir dir, outputs;
  report_workload::write(dir.path(), outputs.path());
  LogImage img = LogImage::load(dir.path());
  const std::uint64_t victim = img.middle_seq();
  img.line(victim) = replace_once(img.line(victim), "\"event_type\"", "\"event_type\" ");  // not canonical
  img.save(dir.path());
  for (const char* f : {"json", "md", "html"}) {
    Run r = run_cli({"report", dir.path(), "--format", f});
    INFO(f << ": " << r.err);
    CHECK(r.status == 1);
    CHECK(contains(first_line(r.out), "NOT VERIFIED"));
    CHECK(contains(first_line(r.out), "seq " + std::to_string(victim)));
  }
}

TEST_CASE("cli report: usage and I/O errors exit 2 and --help exits 0", "[report][cli]") {
  TempDir dir;
  CHECK(run_cli({"report"}).status == 2);
  CHECK(run_cli({"report", dir / "missing"}).status == 2);
  CHECK(run_cli({"report", dir.path(), "--kind", "weekly"}).status == 2);
  CHECK(run_cli({"report", dir.path(), "--format", "pdf"}).status == 2);
  CHECK(run_cli({"report", dir.path(), "--month", "2026-13"}).status == 2);
  CHECK(run_cli({"report", dir.path(), "--month", "2026-03", "--from", "2026-03-01"}).status == 2);
  CHECK(run_cli({"report", dir.path(), "--from", "2026-03-02", "--to", "2026-03-01"}).status == 2);
  CHECK(run_cli({"report", dir.path(), "--from", "tomorrow"}).status == 2);
  CHECK(run_cli({"report", dir.path(), "--bogus"}).status == 2);
  CHECK(run_cli({"report", dir.path(), "--out", dir / "no/such/dir/r.json"}).status == 2);
  CHECK(run_cli({"report", dir.path(), "--key", dir / "nokey"}).status == 2);
  Run h = run_cli({"report", "--help"});
  CHECK(h.status == 0);
  CHECK(contains(h.out, "--tenant ID"));
  CHECK(contains(run_cli({"--help"}).err + run_cli({"--help"}).out, "report"));
  // An empty directory is an intact, empty log.
  Run e = run_cli({"report", dir.path()});
  CHECK(e.status == 0);
}

#endif
