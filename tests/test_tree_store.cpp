// SPDX-License-Identifier: Apache-2.0
// TreeStore: the Merkle tree cached in <log dir>/tree/, built from logs written by the real AuditLogger and
// checked against the verifier's Merkle root, merkle::root_of and the proof verifiers; incremental sync, torn
// tails, stores that no longer match their log, and level files left inconsistent by a crash.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/tree_store.hpp"
#include "support/log_fixture.hpp"

namespace fa = fooocus_audit;
using fa::Code;
using fa::Hash;
using fa::TreeStore;
using fa::TreeSyncReport;
using fa_test::TempDir;

namespace {

TreeStore must_open_store(const std::string& dir, bool writable) {
  fa::Result<TreeStore> s = TreeStore::open(dir, writable);
  INFO(s.status().to_string());
  REQUIRE(s.ok());
  return std::move(s).value();
}

// Chain hashes of every line of every segment, in log order (the leaves the store must hold).
std::vector<Hash> log_leaves(const std::string& dir) {
  std::vector<Hash> out;
  const fa_test::LogImage img = fa_test::LogImage::load(dir);
  for (const auto& seg : img.segs)
    for (const std::string& line : seg.lines) out.push_back(fa::record::chain_hash(line));
  return out;
}

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<std::uint64_t>(st.st_size);
}

std::string level_file(const std::string& log_dir, unsigned k) {
  char name[32];
  std::snprintf(name, sizeof name, "/tree/level-%02u.bin", k);
  return log_dir + name;
}

// Every level holds floor(size / 2^k) nodes, no more.
void require_level_sizes(const std::string& log_dir, std::uint64_t size) {
  for (unsigned k = 0; k < 64 && (size >> k) > 0; ++k) {
    INFO("level " << k);
    REQUIRE(file_size(level_file(log_dir, k)) == (size >> k) * 32);
  }
}

// The store's root equals the verifier's Merkle root and merkle::root_of of the log's chain hashes.
void require_matches_log(TreeStore& store, const std::string& dir) {
  const std::vector<Hash> leaves = log_leaves(dir);
  REQUIRE(store.size() == leaves.size());
  const fa::VerifySummary sum = fa_test::verify_path(dir);
  REQUIRE(sum.intact);
  REQUIRE(sum.merkle_root.has_value());
  REQUIRE(sum.tree_size == leaves.size());
  const fa::Result<Hash> root = store.root(store.size());
  REQUIRE(root.ok());
  CHECK(root.value() == *sum.merkle_root);
  CHECK(root.value() == fa::merkle::root_of(leaves));
  for (std::uint64_t i = 0; i < leaves.size(); ++i) REQUIRE(store.leaf(i).value() == leaves[i]);
}

}  // namespace

TEST_CASE("tree: sync builds the log's Merkle tree and its root is the verifier's root") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  const fa_test::WrittenLog w = fa_test::write_log(dir, 150);  // 8 KiB segments: many of them
  REQUIRE(fa_test::LogImage::load(dir).segs.size() > 3);

  TreeStore store = must_open_store(dir, true);
  CHECK(store.size() == 0);
  CHECK(store.root(0).value() == fa::merkle::empty_root());
  TreeSyncReport rep;
  const fa::Status s = store.sync_from_log(&rep);
  INFO(s.to_string() << " / " << rep.detail);
  REQUIRE(s.ok());
  CHECK(rep.at_end);
  CHECK(rep.stopped_reason.empty());
  CHECK(rep.appended == w.records);
  CHECK(rep.size == w.records);
  require_matches_log(store, dir);
  require_level_sizes(dir, store.size());
  CHECK(store.check().ok());
  CHECK(store.repair_note().empty());

  // Roots of every prefix, from the stored perfect subtrees.
  const std::vector<Hash> leaves = log_leaves(dir);
  std::vector<Hash> prefix;
  for (std::uint64_t n = 1; n <= leaves.size(); n += 7) {
    prefix.assign(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(n));
    REQUIRE(store.root(n).value() == fa::merkle::root_of(prefix));
  }
  CHECK(store.root(store.size() + 1).status().code() == Code::invalid_argument);
  CHECK(store.leaf(store.size()).status().code() == Code::invalid_argument);

  // A second sync finds nothing new; the verifier is not disturbed by tree/.
  CHECK(store.sync_from_log(&rep).ok());
  CHECK(rep.appended == 0);
  CHECK(rep.at_end);
  CHECK(fa_test::verify_path(dir).findings.empty());
}

TEST_CASE("tree: proofs from the store are the in-memory proofs and verify against the log's roots") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  fa_test::write_log(dir, 90);
  TreeStore store = must_open_store(dir, true);
  REQUIRE(store.sync_from_log().ok());
  const std::vector<Hash> leaves = log_leaves(dir);
  const std::uint64_t n = leaves.size();
  REQUIRE(n > 64);
  std::vector<Hash> roots;
  for (std::uint64_t s = 0; s <= n; ++s)
    roots.push_back(fa::merkle::root_of(
        std::vector<Hash>(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(s))));

  for (std::uint64_t size = 1; size <= n; size += 5)
    for (std::uint64_t i = 0; i < size; i += 3) {
      INFO("PATH(" << i << ", D[" << size << "])");
      const fa::Result<std::vector<Hash>> p = store.inclusion_proof(i, size);
      REQUIRE(p.ok());
      REQUIRE(p.value() == fa::merkle::inclusion_proof(leaves, i, size).value());
      REQUIRE(fa::merkle::verify_inclusion(leaves[i], i, size, p.value(), roots[size]));
    }
  for (std::uint64_t size = 1; size <= n; size += 4)
    for (std::uint64_t m = 0; m <= size; m += 3) {
      INFO("PROOF(" << m << ", D[" << size << "])");
      const fa::Result<std::vector<Hash>> p = store.consistency_proof(m, size);
      REQUIRE(p.ok());
      REQUIRE(p.value() == fa::merkle::consistency_proof(leaves, m, size).value());
      REQUIRE(fa::merkle::verify_consistency(m, size, roots[m], roots[size], p.value()));
    }
  CHECK(store.inclusion_proof(n, n).status().code() == Code::invalid_argument);
  CHECK(store.inclusion_proof(0, n + 1).status().code() == Code::invalid_argument);
  CHECK(store.consistency_proof(5, n + 1).status().code() == Code::invalid_argument);
  CHECK(store.consistency_proof(6, 5).status().code() == Code::invalid_argument);

  // A read-only store opened beside it gives the same proofs.
  TreeStore ro = must_open_store(dir, false);
  CHECK(ro.size() == n);
  CHECK(ro.inclusion_proof(17, n).value() == store.inclusion_proof(17, n).value());
  CHECK(ro.root(n).value() == roots[n]);
}

TEST_CASE("tree: incremental sync appends only the new records") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  fa_test::write_log(dir, 40);
  Hash old_root{};
  std::uint64_t old_size = 0;
  {
    TreeStore store = must_open_store(dir, true);
    REQUIRE(store.sync_from_log().ok());
    old_size = store.size();
    old_root = store.root(old_size).value();
  }
  fa_test::write_log(dir, 75);  // the writer resumes the log: log.opened, then 75 events
  TreeStore store = must_open_store(dir, true);
  CHECK(store.size() == old_size);
  TreeSyncReport rep;
  REQUIRE(store.sync_from_log(&rep).ok());
  CHECK(rep.at_end);
  CHECK(rep.appended == 76);
  require_matches_log(store, dir);
  require_level_sizes(dir, store.size());
  const Hash new_root = store.root(store.size()).value();
  const fa::Result<std::vector<Hash>> p = store.consistency_proof(old_size, store.size());
  REQUIRE(p.ok());
  CHECK(fa::merkle::verify_consistency(old_size, store.size(), old_root, new_root, p.value()));
  CHECK(store.root(old_size).value() == old_root);
}

TEST_CASE("tree: sync stops at a torn or invalid tail and continues once the writer repaired it") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  fa_test::write_log(dir, 30);
  const std::uint64_t records = log_leaves(dir).size();
  const auto segs = fa::detail::list_segments(dir).value();
  const std::string last = segs.back().path;
  const std::uint64_t last_size = file_size(last);

  TreeStore store = must_open_store(dir, true);
  SECTION("a record without its LF") {
    fa_test::append_bytes(last, R"({"event":{"event_type":"generation.completed","request_id":"req_x")");
    TreeSyncReport rep;
    const fa::Status s = store.sync_from_log(&rep);
    INFO(s.to_string());
    REQUIRE(s.ok());
    CHECK_FALSE(rep.at_end);
    CHECK(rep.stopped_reason == "torn_record");
    CHECK(rep.stopped_at_tail);
    CHECK(rep.stopped_segment == segs.back().name);
    CHECK(rep.stopped_offset == last_size);
    CHECK(rep.stopped_seq == records);
    CHECK(store.size() == records);
  }
  SECTION("a complete line that is not a record") {
    fa_test::append_bytes(last, std::string(100, '\0') + "\n");
    TreeSyncReport rep;
    REQUIRE(store.sync_from_log(&rep).ok());
    CHECK(rep.stopped_reason == "bad_json");
    CHECK(rep.stopped_at_tail);
    CHECK(rep.stopped_offset == last_size);
    CHECK(store.size() == records);
  }
  // The writer moves the tail to quarantine/ and logs log.opened + log.recovered; the sync picks them up.
  fa_test::write_log(dir, 3);
  TreeSyncReport rep;
  REQUIRE(store.sync_from_log(&rep).ok());
  CHECK(rep.at_end);
  CHECK(rep.appended == log_leaves(dir).size() - records);
  require_matches_log(store, dir);
}

TEST_CASE("tree: an invalid record inside the log stops the sync with corruption, keeping the valid prefix") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  fa_test::write_log(dir, 60);
  fa_test::LogImage img = fa_test::LogImage::load(dir);
  const std::uint64_t seq = img.middle_seq();
  const std::uint64_t offset = img.offset_of(seq);
  const std::string segment = img.segment_of(seq);

  SECTION("an altered record (its hash no longer matches the next prev)") {
    std::string& line = img.line(seq);
    line = fa_test::replace_once(line, "alice@enterprise.com", "mallory@enterprise.com");
    img.save(dir);
    TreeStore store = must_open_store(dir, true);
    TreeSyncReport rep;
    const fa::Status s = store.sync_from_log(&rep);
    CHECK(s.code() == Code::corruption);
    CHECK(rep.stopped_reason == "broken_link");  // the record after it does not link
    CHECK(rep.stopped_seq == seq + 1);
    CHECK_FALSE(rep.stopped_at_tail);
    CHECK(store.size() == seq + 1);  // records 0..seq are a valid chain as far as the tree can tell
  }
  SECTION("a line that is not JSON") {
    img.line(seq) = "garbage";
    img.save(dir);
    TreeStore store = must_open_store(dir, true);
    TreeSyncReport rep;
    const fa::Status s = store.sync_from_log(&rep);
    CHECK(s.code() == Code::corruption);
    CHECK(s.message().find("verifier") != std::string::npos);
    CHECK(rep.stopped_reason == "bad_json");
    CHECK(rep.stopped_segment == segment);
    CHECK(rep.stopped_offset == offset);
    CHECK(rep.stopped_seq == seq);
    CHECK(store.size() == seq);
    // Reopened, the store still holds the valid prefix, durably.
    TreeStore again = must_open_store(dir, false);
    CHECK(again.size() == seq);
  }
}

TEST_CASE("tree: a store that no longer matches its log is detected and rebuild() repairs it") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  fa_test::write_log(dir, 50);
  std::uint64_t size = 0;
  {
    TreeStore store = must_open_store(dir, true);
    REQUIRE(store.sync_from_log().ok());
    size = store.size();
  }
  SECTION("the last leaf was altered") {
    fa_test::patch_file(level_file(dir, 0), (size - 1) * 32 + 5, "\x42");
  }
  SECTION("the log was replaced by another log") {
    TempDir other;
    fa_test::write_log(other / "log", 70);
    fa_test::LogImage::load(other / "log").save(dir);
  }
  SECTION("the log lost its newest records") {
    fa_test::LogImage img = fa_test::LogImage::load(dir);
    img.segs.back().lines.pop_back();
    img.save(dir);
  }
  TreeStore store = must_open_store(dir, true);
  TreeSyncReport rep;
  fa::Status s = store.sync_from_log(&rep);
  INFO(s.to_string());
  CHECK(s.code() == Code::corruption);
  CHECK(rep.stopped_reason == "store_mismatch");
  CHECK(s.message().find("rebuild") != std::string::npos);
  CHECK(s.message().find(dir + "/tree") != std::string::npos);
  CHECK(store.size() == size);  // nothing appended

  s = store.rebuild(&rep);
  INFO(s.to_string());
  REQUIRE(s.ok());
  CHECK(rep.at_end);
  require_matches_log(store, dir);
  require_level_sizes(dir, store.size());
}

TEST_CASE("tree: check() finds an altered inner node") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  fa_test::write_log(dir, 40);
  {
    TreeStore store = must_open_store(dir, true);
    REQUIRE(store.sync_from_log().ok());
    REQUIRE(store.check().ok());
  }
  fa_test::patch_file(level_file(dir, 2), 3 * 32, "\x01\x02");
  TreeStore store = must_open_store(dir, false);
  const fa::Status s = store.check();
  CHECK(s.code() == Code::corruption);
  CHECK(s.message().find("level-02.bin: node 3") != std::string::npos);
}

TEST_CASE("tree: level files left inconsistent by a crash are cut back to a consistent size on open") {
  TempDir tmp;
  const std::string dir = tmp / "log";
  fa_test::write_log(dir, 100);
  std::uint64_t size = 0;
  Hash root{};
  {
    TreeStore store = must_open_store(dir, true);
    REQUIRE(store.sync_from_log().ok());
    size = store.size();
    root = store.root(size).value();
  }
  REQUIRE(size > 64);
  std::uint64_t expect_at_most = size;
  SECTION("a partial node at the end of level 0") {
    fa_test::append_bytes(level_file(dir, 0), "\x01\x02\x03\x04\x05");
  }
  SECTION("level 1 lost its last nodes, level 2 has a partial node") {
    fa_test::truncate_file(level_file(dir, 1), file_size(level_file(dir, 1)) - 3 * 32);
    fa_test::append_bytes(level_file(dir, 2), std::string(17, 'x'));
    expect_at_most = ((size >> 1) - 3 + 1) * 2 - 1;
  }
  SECTION("zero-filled nodes at the end of level 0 (allocated, never written)") {
    fa_test::append_bytes(level_file(dir, 0), std::string(4 * 32, '\0'));
  }
  SECTION("zeros overwrote the last leaves") {
    fa_test::patch_file(level_file(dir, 0), (size - 2) * 32, std::string(2 * 32, '\0'));
    expect_at_most = size - 2;
  }
  SECTION("level 3 is longer than level 0 allows") {
    fa_test::append_bytes(level_file(dir, 3), std::string(32, '\x07'));
  }
  SECTION("a level file is missing") {
    REQUIRE(::unlink(level_file(dir, 4).c_str()) == 0);
    expect_at_most = 15;
  }

  // Read-only: uses the consistent prefix and changes nothing.
  const std::uint64_t level0_bytes = file_size(level_file(dir, 0));
  {
    TreeStore ro = must_open_store(dir, false);
    CHECK(ro.size() <= expect_at_most);
    CHECK(ro.check().ok());
    CHECK(file_size(level_file(dir, 0)) == level0_bytes);
  }
  TreeStore store = must_open_store(dir, true);
  INFO(store.repair_note());
  CHECK(store.size() <= expect_at_most);
  CHECK(store.check().ok());
  require_level_sizes(dir, store.size());
  for (unsigned k = 0; k < 64; ++k)
    if (fa_test::file_exists(level_file(dir, k)))
      CHECK(file_size(level_file(dir, k)) == (store.size() >> k) * 32);
  TreeSyncReport rep;
  REQUIRE(store.sync_from_log(&rep).ok());
  CHECK(rep.at_end);
  CHECK(store.size() == size);
  CHECK(store.root(size).value() == root);
  require_level_sizes(dir, size);
}

TEST_CASE("tree: one writable store at a time, read-only stores, append and flush without a log") {
  TempDir tmp;
  const std::string dir = tmp.path();
  CHECK(TreeStore::open(dir, false).status().code() == Code::not_found);
  CHECK(TreeStore::open(tmp / "missing", true).status().code() == Code::not_found);

  TreeStore store = must_open_store(dir, true);
  const fa::Result<TreeStore> second = TreeStore::open(dir, true);
  CHECK(second.status().code() == Code::locked);
  CHECK(second.status().message().find("tree") != std::string::npos);

  // 70,000 leaves: more than one internal write batch.
  std::vector<Hash> leaves(70000);
  for (std::size_t i = 0; i < leaves.size(); ++i) leaves[i] = fa::detail::sha256(std::to_string(i));
  fa::merkle::Frontier f;
  for (std::size_t i = 0; i < leaves.size(); i += 999) {
    const std::size_t n = std::min<std::size_t>(999, leaves.size() - i);
    REQUIRE(store.append(leaves.data() + i, n).ok());
    for (std::size_t j = i; j < i + n; ++j) f.append(leaves[j]);
    REQUIRE(store.root(store.size()).value() == f.root());
  }
  CHECK(store.root(leaves.size()).value() == fa::merkle::root_of(leaves));
  CHECK(store.check().ok());  // before flush: part in the files, part in memory
  const auto p = store.inclusion_proof(12345, leaves.size());
  REQUIRE(p.ok());
  CHECK(fa::merkle::verify_inclusion(leaves[12345], 12345, leaves.size(), p.value(), f.root()));
  REQUIRE(store.flush().ok());
  require_level_sizes(dir, leaves.size());

  {
    TreeStore ro = must_open_store(dir, false);
    CHECK(ro.size() == leaves.size());
    CHECK(ro.root(ro.size()).value() == f.root());
    CHECK(ro.append(leaves.data(), 1).code() == Code::invalid_argument);
    CHECK(ro.sync_from_log().code() == Code::invalid_argument);
    CHECK(ro.flush().ok());
    const auto c = ro.consistency_proof(1000, leaves.size());
    REQUIRE(c.ok());
    const Hash old_root = fa::merkle::root_of(std::vector<Hash>(leaves.begin(), leaves.begin() + 1000));
    CHECK(fa::merkle::verify_consistency(1000, leaves.size(), old_root, f.root(), c.value()));
  }
  { TreeStore gone = std::move(store); }  // the lock goes with the object
  TreeStore again = must_open_store(dir, true);
  CHECK(again.size() == leaves.size());
  CHECK(again.root(again.size()).value() == f.root());
}
