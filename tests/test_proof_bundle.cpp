// SPDX-License-Identifier: Apache-2.0
// Proof bundles (proof_bundle.hpp, docs/log-format.md §11.2) over logs written by the real AuditLogger with a
// LocalSigner: inclusion and consistency bundles check with the trusted key, every tampering is rejected with
// its reason, records not yet covered by a checkpoint are refused, and a damaged tree cache never yields a
// bad bundle.

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fooocus_audit/mac_key.hpp"
#include "fooocus_audit/proof_bundle.hpp"
#include "fooocus_audit/tree_store.hpp"
#include "support/log_fixture.hpp"

using namespace fa_test;
namespace fa = fooocus_audit;
namespace note = fooocus_audit::note;
using nlohmann::json;

namespace {

constexpr const char* kKeyName = "test-origin";

struct SignedLog {
  std::string dir;
  std::string log_id;
  std::string anchor_file;  ///< every signed checkpoint, as the writer appended them
  std::string mac_seed;     ///< the auditor's copy of the seed ("" without MACs)
  note::VerifierKey key;
  std::uint64_t records = 0;
};

/// Writes `events` sample events with checkpoints every `checkpoint_records` records, signed in process.
SignedLog write_signed_log(const TempDir& tmp, const std::string& name, int events, bool macs,
                           std::uint64_t checkpoint_records = 10,
                           std::uint64_t max_segment_bytes = 1u << 20) {
  SignedLog out;
  out.dir = tmp / name;
  out.anchor_file = tmp / (name + ".anchors");
  fa::Result<note::SigningKey> key = note::SigningKey::generate(kKeyName);
  REQUIRE(key.ok());
  out.key = key->verifier();

  fa::LoggerOptions opt;
  opt.dir = out.dir;
  opt.durability = fa::Durability::none;
  opt.clock_micros = stepping_clock();
  opt.max_segment_bytes = max_segment_bytes;
  opt.signer = std::make_shared<fa::LocalSigner>(std::move(key.value()));
  opt.checkpoint_records = checkpoint_records;
  opt.checkpoint_anchor_path = out.anchor_file;
  if (macs) {
    fa::Result<fa::mac::Seed> seed = fa::mac::Seed::generate();
    REQUIRE(seed.ok());
    opt.mac_key_path = tmp / (name + ".writer-mac.key");
    out.mac_seed = tmp / (name + ".auditor-mac.key");
    REQUIRE(seed->save(opt.mac_key_path).ok());
    REQUIRE(seed->save(out.mac_seed).ok());
  }
  auto lg = fa::AuditLogger::open(opt);
  INFO(lg.status().to_string());
  REQUIRE(lg.ok());
  for (int i = 0; i < events; ++i) REQUIRE((*lg)->log(sample_event(i)).ok());
  REQUIRE((*lg)->close().ok());
  out.log_id = (*lg)->log_id();
  out.records = (*lg)->stats().records;
  REQUIRE((*lg)->stats().checkpoints > 0);
  REQUIRE((*lg)->stats().checkpoints_unsigned == 0);
  return out;
}

std::string must_prove(const SignedLog& log, std::uint64_t seq, const fa::ProveOptions& o = {}) {
  fa::Result<std::string> b = fa::make_inclusion_bundle(log.dir, seq, o);
  INFO("seq " << seq << ": " << b.status().to_string());
  REQUIRE(b.ok());
  return b.value();
}

fa::BundleCheck must_check(const std::string& bundle, const std::vector<note::VerifierKey>& keys,
                           const std::string& mac = "") {
  fa::Result<fa::BundleCheck> c = fa::check_bundle(bundle, keys, mac);
  INFO(c.status().to_string());
  REQUIRE(c.ok());
  return c.value();
}

bool mentions(const std::vector<std::string>& list, const std::string& what) {
  for (const std::string& s : list)
    if (s.find(what) != std::string::npos) return true;
  return false;
}

/// The reason check_bundle gives for a (tampered) bundle; "" when it checks.
std::string reason_of(const std::string& bundle, const std::vector<note::VerifierKey>& keys,
                      const std::string& mac = "") {
  const fa::BundleCheck c = must_check(bundle, keys, mac);
  if (c.ok) return "";
  INFO(c.reason << ": " << c.detail);
  CHECK_FALSE(c.detail.empty());
  return c.reason;
}

/// A checkpoint note over (origin, size, root) signed by `key`.
std::string sign_checkpoint(const note::SigningKey& key, const std::string& origin, std::uint64_t size,
                            const fa::Hash& root) {
  fa::Result<std::string> n = note::sign_note(note::format_checkpoint({origin, size, root, {}}), key);
  REQUIRE(n.ok());
  return n.value();
}

note::Checkpoint body_of(const std::string& note_text) {
  fa::Result<note::Note> n = note::parse_note(note_text);
  REQUIRE(n.ok());
  fa::Result<note::Checkpoint> c = note::parse_checkpoint(n->text);
  REQUIRE(c.ok());
  return c.value();
}

}  // namespace

TEST_CASE("bundle: inclusion bundles of records across the log check with the trusted key and the MAC seed",
          "[bundle]") {
  TempDir tmp;
  const SignedLog log = write_signed_log(tmp, "log", 60, /*macs=*/true, 10, 8192);
  REQUIRE(log.records > 60);
  for (std::uint64_t seq :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{31}, log.records - 2}) {
    const std::string bundle = must_prove(log, seq);
    const fa::BundleCheck c = must_check(bundle, {log.key}, log.mac_seed);
    INFO("seq " << seq << ": " << c.reason << " " << c.detail);
    CHECK(c.ok);
    CHECK(c.kind == "inclusion");
    CHECK(c.seq == seq);
    CHECK(c.log_id == log.log_id);
    CHECK(c.origin == std::string(kKeyName) + "/" + log.log_id);
    CHECK(c.tree_size > seq);
    CHECK(c.reason.empty());
    CHECK(mentions(c.checked, "inclusion"));
    CHECK(mentions(c.checked, "signature"));
    CHECK(mentions(c.checked, "mac"));
    CHECK(c.not_checked.empty());
    CHECK(c.signed_by == std::vector<std::string>{note::key_label(log.key.name, log.key.id)});

    // The same bundle without keys: valid as far as it goes, and it says what it could not check.
    const fa::BundleCheck bare = must_check(bundle, {});
    CHECK(bare.ok);
    CHECK(mentions(bare.not_checked, "signature"));
    CHECK(mentions(bare.not_checked, "mac"));
    // A final LF (as the CLI writes it) is accepted.
    CHECK(must_check(bundle + "\n", {log.key}).ok);
  }
}

TEST_CASE("bundle: checkpoints from an anchor file: the smallest covering one, or the newest", "[bundle]") {
  TempDir tmp;
  const SignedLog log = write_signed_log(tmp, "log", 45, /*macs=*/false, 10);
  fa::ProveOptions o;
  o.anchor_file = log.anchor_file;
  const fa::BundleCheck smallest = must_check(must_prove(log, 12, o), {log.key});
  CHECK(smallest.ok);
  CHECK(smallest.tree_size > 12);
  CHECK(smallest.tree_size <=
        12 + 11);  // a checkpoint at least every 10 records (+ the checkpoint record itself)
  o.newest = true;
  const fa::BundleCheck newest = must_check(must_prove(log, 12, o), {log.key});
  CHECK(newest.ok);
  CHECK(newest.tree_size == log.records - 1);  // the checkpoint close() wrote as the last record
  // Without an anchor file: the log's newest signed checkpoint.
  CHECK(must_check(must_prove(log, 12), {log.key}).tree_size == log.records - 1);
}

TEST_CASE("bundle: every tampering of an inclusion bundle is rejected with its reason", "[bundle]") {
  TempDir tmp;
  const SignedLog log = write_signed_log(tmp, "log", 40, /*macs=*/true, 10);
  const std::uint64_t seq = 13;
  const std::string bundle = must_prove(log, seq);
  const json b = json::parse(bundle);
  REQUIRE(reason_of(bundle, {log.key}, log.mac_seed).empty());
  const std::vector<note::VerifierKey> keys{log.key};
  auto with = [&](const char* member, const json& value) {
    json t = b;
    t[member] = value;
    return fa::jcs::serialize(t);
  };
  const std::string rec = b["record"];
  const std::string cp = b["checkpoint"];
  const std::vector<std::string> proof = b["proof"];
  REQUIRE(proof.size() >= 2);

  SECTION("a record byte") {
    CHECK(reason_of(with("record", replace_once(rec, "req_", "reQ_")), keys) == "inclusion_invalid");
    CHECK(reason_of(with("record", replace_once(rec, "\"seq\"", " \"seq\"")), keys) == "record_invalid");
    CHECK(reason_of(with("record", rec + "x"), keys) == "record_invalid");
  }
  SECTION("the record's seq") {
    const std::string s = "\"seq\":" + std::to_string(seq) + ",";
    CHECK(reason_of(with("record", replace_once(rec, s, "\"seq\":" + std::to_string(seq + 1) + ",")), keys) ==
          "inclusion_invalid");
    CHECK(reason_of(with("record", replace_once(rec, s, "\"seq\":99999,")), keys) == "inclusion_invalid");
  }
  SECTION("a proof hash") {
    for (std::size_t i = 0; i < proof.size(); ++i) {
      std::vector<std::string> p = proof;
      p[i][10] = p[i][10] == '0' ? '1' : '0';
      CHECK(reason_of(with("proof", p), keys) == "inclusion_invalid");
    }
  }
  SECTION("the proof length") {
    std::vector<std::string> shorter(proof.begin(), proof.end() - 1);
    CHECK(reason_of(with("proof", shorter), keys) == "inclusion_invalid");
    std::vector<std::string> longer = proof;
    longer.push_back(proof.front());
    CHECK(reason_of(with("proof", longer), keys) == "inclusion_invalid");
    CHECK(reason_of(with("proof", json::array()), keys) == "inclusion_invalid");
    CHECK(reason_of(with("proof", std::vector<std::string>(65, proof.front())), keys) == "bad_bundle");
    CHECK(reason_of(with("proof", std::vector<std::string>{"xyz"}), keys) == "bad_bundle");
  }
  SECTION("the checkpoint text") {
    const note::Checkpoint body = body_of(cp);
    const std::string size_line = "\n" + std::to_string(body.size) + "\n";
    CHECK(reason_of(
              with("checkpoint", replace_once(cp, size_line, "\n" + std::to_string(body.size + 1) + "\n")),
              keys) == "signature_invalid");
    CHECK(reason_of(with("checkpoint", "not a note"), keys) == "checkpoint_invalid");
    // Another root under the original signature: the signature fails, and without keys the proof does.
    fa::Result<note::Note> n = note::parse_note(cp);
    REQUIRE(n.ok());
    note::Checkpoint altered = body;
    altered.root[7] ^= 0x10;
    n->text = note::format_checkpoint(altered);
    const std::string other_root = note::format_note(n.value());
    CHECK(reason_of(with("checkpoint", other_root), keys) == "signature_invalid");
    CHECK(reason_of(with("checkpoint", other_root), {}) == "inclusion_invalid");
  }
  SECTION("the signature") {
    const std::size_t at = cp.rfind(' ') + 20;  // inside the base64 of the signature line
    std::string t = cp;
    t[at] = t[at] == 'A' ? 'B' : 'A';
    CHECK(reason_of(with("checkpoint", t), keys) == "signature_invalid");
  }
  SECTION("a key that is not trusted") {
    fa::Result<note::SigningKey> other = note::SigningKey::generate(kKeyName);
    REQUIRE(other.ok());
    const note::Checkpoint body = body_of(cp);
    CHECK(reason_of(with("checkpoint", sign_checkpoint(*other, body.origin, body.size, body.root)), keys) ==
          "untrusted_key");
    // Trusting only the other key rejects the genuine bundle.
    CHECK(reason_of(bundle, {other->verifier()}) == "untrusted_key");
  }
  SECTION("the origin") {
    // The genuine key signing the checkpoint under another name or for another log.
    fa::Result<note::SigningKey> forger = note::SigningKey::generate("other-name");
    REQUIRE(forger.ok());
    const note::Checkpoint body = body_of(cp);
    const std::vector<note::VerifierKey> both{log.key, forger->verifier()};
    CHECK(reason_of(with("checkpoint", sign_checkpoint(*forger, "other-name/" + std::string(32, 'a'),
                                                       body.size, body.root)),
                    both) == "origin_mismatch");
    CHECK(reason_of(with("checkpoint", sign_checkpoint(*forger, std::string(kKeyName) + "/" + log.log_id,
                                                       body.size, body.root)),
                    both) == "origin_mismatch");
  }
  SECTION("the bundle's shape") {
    json extra = b;
    extra["note"] = "x";
    CHECK(reason_of(fa::jcs::serialize(extra), keys) == "bad_bundle");
    json missing = b;
    missing.erase("proof");
    CHECK(reason_of(fa::jcs::serialize(missing), keys) == "bad_bundle");
    CHECK(reason_of(with("bundle", "fooocus-audit/inclusion/v2"), keys) == "bad_bundle");
    CHECK(reason_of(b.dump(2), keys) == "bad_json");
    CHECK(reason_of("not json", keys) == "bad_json");
    CHECK(reason_of(with("record", 42), keys) == "bad_bundle");
  }
  SECTION("the MAC") {
    // The right record checked with another seed: the tag does not verify.
    TempDir other;
    fa::Result<fa::mac::Seed> seed = fa::mac::Seed::generate();
    REQUIRE(seed.ok());
    REQUIRE(seed->save(other / "mac.key").ok());
    CHECK(reason_of(bundle, keys, other / "mac.key") == "mac_invalid");
    // A missing key file is an error, not a verdict.
    CHECK_FALSE(fa::check_bundle(bundle, keys, other / "missing.key").ok());
  }
}

TEST_CASE("bundle: a record of a log without MACs is mac_missing when the auditor gives a seed", "[bundle]") {
  TempDir tmp;
  const SignedLog plain = write_signed_log(tmp, "plain", 5, /*macs=*/false, 10);
  const SignedLog macd = write_signed_log(tmp, "macd", 5, /*macs=*/true, 10);
  const std::string bundle = must_prove(plain, 2);
  CHECK(reason_of(bundle, {plain.key}, macd.mac_seed) == "mac_missing");
  CHECK(reason_of(bundle, {plain.key}).empty());
}

TEST_CASE("bundle: records no checkpoint covers yet, and missing records, are refused with not_found",
          "[bundle]") {
  TempDir tmp;
  const SignedLog log = write_signed_log(tmp, "log", 25, /*macs=*/false, 1000);
  // The only checkpoint is the last record (written by close()): it covers every record before it, not
  // itself.
  const std::uint64_t last = log.records - 1;
  CHECK(must_check(must_prove(log, last - 1), {log.key}).ok);
  fa::Result<std::string> r = fa::make_inclusion_bundle(log.dir, last);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == fa::Code::not_found);
  INFO(r.status().message());
  CHECK(r.status().message().find("covers " + std::to_string(last) + " records") != std::string::npos);
  r = fa::make_inclusion_bundle(log.dir, last + 10);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == fa::Code::not_found);

  // A log without a signer has no checkpoint at all.
  write_log(tmp / "unsigned", 5);
  r = fa::make_inclusion_bundle(tmp / "unsigned", 2);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == fa::Code::not_found);
  // An anchor file without a covering checkpoint says how far it goes.
  fa::ProveOptions o;
  o.anchor_file = log.anchor_file;
  r = fa::make_inclusion_bundle(log.dir, last, o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == fa::Code::not_found);
  CHECK(r.status().message().find("covers " + std::to_string(last) + " records") != std::string::npos);
}

TEST_CASE("bundle: consistency bundles between two checkpoints verify, and a forked one does not",
          "[bundle]") {
  TempDir tmp;
  const SignedLog log = write_signed_log(tmp, "log", 50, /*macs=*/false, 10);
  fa::Result<fa::AnchorSet> anchors = fa::AnchorSet::load(log.anchor_file);
  REQUIRE(anchors.ok());
  REQUIRE(anchors->checkpoints.size() >= 3);
  const std::uint64_t first =
      body_of(anchors->checkpoints.front().note).size;  // the checkpoint record `first`
  fa::Result<std::string> old_note = fa::find_checkpoint(log.dir, first);
  fa::Result<std::string> new_note = fa::find_checkpoint(log.dir, std::nullopt);
  INFO(old_note.status().to_string() << " / " << new_note.status().to_string());
  REQUIRE(old_note.ok());
  REQUIRE(new_note.ok());
  fa::ProveOptions from_file;
  from_file.anchor_file = log.anchor_file;
  fa::Result<std::string> anchor_note = fa::find_checkpoint(log.dir, first, from_file);
  REQUIRE(anchor_note.ok());
  CHECK(anchor_note.value() == old_note.value());

  fa::Result<std::string> bundle = fa::make_consistency_bundle(log.dir, old_note.value(), new_note.value());
  INFO(bundle.status().to_string());
  REQUIRE(bundle.ok());
  const fa::BundleCheck c = must_check(bundle.value(), {log.key});
  INFO(c.reason << ": " << c.detail);
  CHECK(c.ok);
  CHECK(c.kind == "consistency");
  CHECK(c.old_size == first);
  CHECK(c.tree_size == log.records - 1);
  CHECK(c.log_id == log.log_id);
  CHECK(mentions(c.checked, "consistency"));
  // Equal checkpoints: an empty proof.
  fa::Result<std::string> same = fa::make_consistency_bundle(log.dir, new_note.value(), new_note.value());
  REQUIRE(same.ok());
  CHECK(must_check(same.value(), {log.key}).ok);

  // A fork: a key of the same name signed another tree of the old size (a compromised signer, or a split
  // view).
  fa::Result<note::SigningKey> key2 = note::SigningKey::generate(kKeyName);
  REQUIRE(key2.ok());
  const note::Checkpoint old_body = body_of(old_note.value());
  fa::Hash other_root = old_body.root;
  other_root[0] ^= 1;
  const std::string fork = sign_checkpoint(*key2, old_body.origin, old_body.size, other_root);
  fa::Result<std::string> refused = fa::make_consistency_bundle(log.dir, fork, new_note.value());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == fa::Code::corruption);

  json forked = json::parse(bundle.value());
  forked["old"] = fork;
  const std::string forked_bundle = fa::jcs::serialize(forked);
  CHECK(reason_of(forked_bundle, {log.key, key2->verifier()}) == "consistency_invalid");
  CHECK(reason_of(forked_bundle, {log.key}) == "untrusted_key");
  // Swapped, altered proof, other origin.
  json swapped = json::parse(bundle.value());
  std::swap(swapped["old"], swapped["new"]);
  CHECK(reason_of(fa::jcs::serialize(swapped), {log.key}) == "consistency_invalid");
  json altered = json::parse(bundle.value());
  REQUIRE_FALSE(altered["proof"].empty());
  std::string h = altered["proof"][0];
  h[0] = h[0] == 'a' ? 'b' : 'a';
  altered["proof"][0] = h;
  CHECK(reason_of(fa::jcs::serialize(altered), {log.key}) == "consistency_invalid");
  const SignedLog other = write_signed_log(tmp, "other", 15, /*macs=*/false, 10);
  fa::Result<std::string> other_note = fa::find_checkpoint(other.dir, std::nullopt);
  REQUIRE(other_note.ok());
  json mixed = json::parse(bundle.value());
  mixed["old"] = other_note.value();
  CHECK(reason_of(fa::jcs::serialize(mixed), {log.key, other.key}) == "origin_mismatch");
  CHECK_FALSE(fa::make_consistency_bundle(log.dir, other_note.value(), new_note.value()).ok());
}

TEST_CASE("bundle: a damaged tree cache gives a correct bundle or corruption, never a bad bundle",
          "[bundle]") {
  TempDir tmp;
  const SignedLog log = write_signed_log(tmp, "log", 40, /*macs=*/false, 10);
  const std::vector<std::uint64_t> seqs{0, 3, 17, 30, log.records - 2};
  for (std::uint64_t s : seqs) must_prove(log, s);  // builds tree/
  const std::string level0 = log.dir + "/tree/level-00.bin", level1 = log.dir + "/tree/level-01.bin";
  REQUIRE(file_exists(level0));
  REQUIRE(file_exists(level1));
  int corrupt = 0;
  for (const std::string& file : {level0, level1}) {
    const std::string original = read_bytes(file);
    for (std::size_t node = 0; node * 32 < original.size(); node += 3) {
      std::string damaged = original;
      damaged[node * 32 + 5] ^= 0x40;
      write_bytes(file, damaged);
      for (std::uint64_t s : seqs) {
        fa::Result<std::string> b = fa::make_inclusion_bundle(log.dir, s);
        if (b.ok()) {
          CHECK(must_check(b.value(), {log.key}).ok);
        } else {
          INFO(b.status().to_string());
          CHECK(b.status().code() == fa::Code::corruption);
          ++corrupt;
        }
      }
      write_bytes(file, original);
    }
  }
  CHECK(corrupt > 0);
  // Deleting the cache repairs everything.
  std::filesystem::remove_all(log.dir + "/tree");
  for (std::uint64_t s : seqs) CHECK(must_check(must_prove(log, s), {log.key}).ok);
}

TEST_CASE("bundle: with the tree cache locked by another prover, the proof is computed without it",
          "[bundle]") {
  TempDir tmp;
  const SignedLog log = write_signed_log(tmp, "log", 30, /*macs=*/false, 10);
  {
    fa::Result<fa::TreeStore> holder =
        fa::TreeStore::open(log.dir, /*writable=*/true);  // empty cache, locked
    REQUIRE(holder.ok());
    CHECK(must_check(must_prove(log, 9), {log.key}).ok);  // from the records in memory
  }
  must_prove(log, 9);  // fills the cache
  fa::Result<fa::TreeStore> holder = fa::TreeStore::open(log.dir, /*writable=*/true);
  REQUIRE(holder.ok());
  CHECK(must_check(must_prove(log, 20), {log.key}).ok);  // from the read-only cache
}
