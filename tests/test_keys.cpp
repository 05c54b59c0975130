// SPDX-License-Identifier: Apache-2.0
// Forward-secure MACs and signed checkpoints written by AuditLogger and checked by ChainVerifier
// (docs/log-format.md §8.2 steps 10-11, §9, §10), and the tamper matrix of an attacker who can recompute
// every hash: each attack is caught by the MACs (with the auditor's seed) or the checkpoint signatures (with
// the public key) or the anchor file, with its reason code.

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "support/keyed_log.hpp"

using namespace fa_test;
using fa::Reason;

namespace {

bool has_reason(const fa::VerifySummary& s, Reason r) {
  return std::any_of(s.findings.begin(), s.findings.end(), [r](const fa::Finding& f) { return f.reason == r; });
}

const fa::Finding& first_finding(const fa::VerifySummary& s) {
  REQUIRE_FALSE(s.findings.empty());
  return s.findings.front();
}

fa::VerifyOptions with_key_only(const KeyedLog& k) {
  fa::VerifyOptions o;
  o.trusted_keys = {k.verifier};
  return o;
}

fa::VerifyOptions with_seed_only(const KeyedLog& k) {
  fa::VerifyOptions o;
  o.mac_key_path = k.seed_copy;
  return o;
}

// The epoch key an intruder finds on the host when the writer has stopped: the writer's own key file.
fa::mac::EpochKey stolen_key(const KeyedLog& k, const std::string& log_id) {
  auto key = fa::mac::EpochKey::load(k.writer_key, log_id);
  REQUIRE(key);
  return std::move(key.value());
}

std::string log_id_of(const LogImage& img) { return parse_rec(img.segs.front().lines.front()).log_id; }

// A checkpoint signer that is unreachable: every request fails, as a RemoteSigner whose server is down.
struct FailingSigner final : fa::CheckpointSigner {
  explicit FailingSigner(fa::note::VerifierKey k) : key(std::move(k)) {}
  fa::note::VerifierKey key;
  const fa::note::VerifierKey& verifier_key() const override { return key; }
  fooocus_audit::Result<std::string> sign_checkpoint(const fa::CheckpointRequest&) override {
    return fa::Status(fa::Code::io_error, "signer unreachable");
  }
};

}  // namespace

TEST_CASE("keys: a log with MACs and checkpoints verifies with the seed and the trusted key", "[keys]") {
  KeyedLog k;
  k.write(400);
  const fa::VerifySummary s = verify_path(k.dir, k.full());
  INFO(describe(s));
  REQUIRE(s.intact);
  CHECK(s.uses_macs);
  CHECK(s.macs_checked == s.records);
  CHECK(s.macs_unchecked == 0);
  CHECK(s.mac_last_epoch.value_or(0) >= 400 / 40);
  CHECK(s.checkpoints_verified == s.checkpoints);
  CHECK(s.checkpoints >= 400 / 64);
  // The close-time checkpoint covers every record before it, and it went to the anchor file too.
  REQUIRE(s.last_signed_checkpoint);
  CHECK(*s.last_signed_checkpoint == *s.last_seq);
  CHECK(s.checkpoint_anchors_checked == s.checkpoints);
  const std::string text = fa::format_summary_text(s);
  CHECK(text.find("macs         checked:") != std::string::npos);
  CHECK(text.find("checkpoints  checked:") != std::string::npos);
  // Every segment after the first starts with a checkpoint (§10.3).
  const LogImage img = LogImage::load(k.dir);
  REQUIRE(img.segs.size() >= 3);
  for (std::size_t i = 1; i < img.segs.size(); ++i)
    CHECK(nlohmann::json::parse(parse_rec(img.segs[i].lines.front()).event)["event_type"] == "log.checkpoint");
}

TEST_CASE("keys: the writer's key file no longer holds the seed, and is 0600", "[keys]") {
  KeyedLog k;
  const std::string seed_text = read_bytes(k.seed_copy);
  const std::string seed_hex = seed_text.substr(seed_text.find(' ') + 1, 64);
  k.write(100);
  const std::string state = read_bytes(k.writer_key);
  CHECK(state.size() == fa::mac::kStateFileBytes);
  CHECK(state.find(seed_hex) == std::string::npos);
  CHECK(state.find(std::string(fa::mac::kSeedMagic)) == std::string::npos);
  struct stat st {};
  REQUIRE(::stat(k.writer_key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto info = fa::mac::WriterState::inspect(k.writer_key);
  REQUIRE(info);
  CHECK(info->epoch >= 2);
}

TEST_CASE("keys: without keys the verifier says what it could not check", "[keys]") {
  KeyedLog k;
  k.write(120);
  const fa::VerifySummary s = verify_path(k.dir);
  INFO(describe(s));
  REQUIRE(s.intact);
  CHECK(s.macs_checked == 0);
  CHECK(s.macs_unchecked == s.records);
  CHECK(s.checkpoints_sig_unchecked == s.checkpoints);
  const std::string text = fa::format_summary_text(s);
  CHECK(text.find("macs         NOT CHECKED") != std::string::npos);
  CHECK(text.find("checkpoints  NOT CHECKED") != std::string::npos);
  CHECK(text.find("anchors      NOT CHECKED") != std::string::npos);
}

TEST_CASE("keys: idle epochs are sealed, so the key moves on with time", "[keys]") {
  KeyedLog k;
  fa::LoggerOptions o = k.options();
  o.mac_epoch_records = 1000000;
  o.mac_epoch_interval = std::chrono::milliseconds(20);
  auto lg = must_open(o);
  REQUIRE(lg->log(generation_event("before")));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE(lg->log(generation_event("after")));
  REQUIRE(lg->close());
  const LogImage img = LogImage::load(k.dir);
  // At least two intervals passed with nothing logged: each was closed by its own log.epoch_end.
  CHECK(seqs_of(img, "log.epoch_end").size() >= 2);
  const fa::VerifySummary s = verify_path(k.dir, k.full());
  INFO(describe(s));
  CHECK(s.intact);
  CHECK(s.mac_last_epoch.value_or(0) >= 2);
}

TEST_CASE("keys: a writer resumes a MAC'd log only with its own evolving key file", "[keys]") {
  KeyedLog k;
  k.write(50);
  k.write(50, "second_");
  REQUIRE(verify_path(k.dir, k.full()).intact);

  SECTION("without a MAC key") {
    fa::LoggerOptions o = k.options();
    o.mac_key_path.clear();
    auto r = fa::AuditLogger::open(o);
    REQUIRE_FALSE(r);
    CHECK(r.status().code() == fa::Code::invalid_argument);
  }
  SECTION("with the auditor's seed, which would bring wiped keys back") {
    fa::LoggerOptions o = k.options();
    o.mac_key_path = k.seed_copy;
    auto r = fa::AuditLogger::open(o);
    REQUIRE_FALSE(r);
    CHECK(r.status().code() == fa::Code::invalid_argument);
    CHECK(r.status().message().find("seed") != std::string::npos);
  }
  SECTION("with a key file rolled back to an earlier epoch") {
    TempDir t2;
    KeyedLog other;  // a second log, to produce an old state file of the same shape
    // Save the writer key as it is now, move the log on by several epochs, then put the old file back.
    const std::string saved = t2 / "saved.key";
    write_bytes(saved, read_bytes(k.writer_key));
    k.write(200, "third_");
    write_bytes(k.writer_key, read_bytes(saved));
    ::chmod(k.writer_key.c_str(), 0600);
    auto r = fa::AuditLogger::open(k.options());
    REQUIRE_FALSE(r);
    CHECK(r.status().code() == fa::Code::corruption);
  }
  SECTION("a log created without MACs cannot gain them") {
    TempDir t2;
    const std::string plain = t2 / "plain";
    {
      auto lg = must_open(options_for(plain));
      REQUIRE(lg->close());
    }
    fa::LoggerOptions o = options_for(plain);
    o.mac_key_path = k.seed_copy;
    auto r = fa::AuditLogger::open(o);
    REQUIRE_FALSE(r);
    CHECK(r.status().code() == fa::Code::invalid_argument);
  }
}

TEST_CASE("keys: a writer that stopped after an epoch end but before evolving its key completes the evolution",
          "[keys]") {
  KeyedLog k;
  fa::LoggerOptions o = k.options();
  o.signer.reset();  // no close-time checkpoint: the log ends with what the test writes
  o.mac_epoch_records = 10;
  {
    auto lg = must_open(o);  // log.opened is record 0 of epoch 0
    REQUIRE(lg->close());
  }
  const std::string at_epoch0 = read_bytes(k.writer_key);
  {
    // 8 events + log.opened(resumed) fill epoch 0 to 10 records: the writer seals log.epoch_end(0) and moves on.
    auto lg = must_open(o);
    for (int i = 0; i < 8; ++i) REQUIRE(lg->log(generation_event("r" + std::to_string(i))));
    REQUIRE(lg->close());
  }
  LogImage img = LogImage::load(k.dir);
  const std::string& last = img.segs.back().lines.back();
  REQUIRE(nlohmann::json::parse(parse_rec(last).event)["event_type"] == "log.epoch_end");
  REQUIRE(epoch_of(last) == 0);
  // The crash window of §9.2: the end record is durable, the key file still at epoch 0.
  write_bytes(k.writer_key, at_epoch0);
  ::chmod(k.writer_key.c_str(), 0600);
  {
    auto lg = must_open(o);
    REQUIRE(lg->log(generation_event("after")));
    REQUIRE(lg->close());
  }
  const fa::VerifySummary s = verify_path(k.dir, k.full());
  INFO(describe(s));
  CHECK(s.intact);
  CHECK(s.mac_last_epoch == 1u);
}

TEST_CASE("keys: a checkpoint signer that fails leaves unsigned checkpoints and logging goes on", "[keys]") {
  KeyedLog k;
  fa::LoggerOptions o = k.options();
  o.signer = std::make_shared<FailingSigner>(new_signing_key().verifier());
  std::atomic<int> errors{0};
  o.on_error = [&](const fa::Status& st) {
    if (!st.ok() && st.message().find("signer unreachable") != std::string::npos) ++errors;
  };
  auto lg = must_open(o);
  for (int i = 0; i < 150; ++i) REQUIRE(lg->log(generation_event("r" + std::to_string(i))));
  REQUIRE(lg->close());
  CHECK(errors.load() >= 2);
  const fa::VerifySummary s = verify_path(k.dir, k.full());
  INFO(describe(s));
  CHECK(s.intact);
  CHECK(s.checkpoints_unsigned == s.checkpoints);
  CHECK(s.checkpoints_unsigned >= 2);
  CHECK_FALSE(fa_test::file_exists(k.anchor_file));  // nothing signed, nothing anchored
}

TEST_CASE("keys: key rotation is recorded and the retired key is refused afterwards", "[keys]") {
  KeyedLog k;
  k.write(100);
  // The writer comes back with a new signing key.
  fa::note::SigningKey new_key = new_signing_key("audit.example/fooocus-2026");
  const fa::note::VerifierKey new_verifier = new_key.verifier();
  fa::LoggerOptions o = k.options();
  o.signer = std::make_shared<fa::LocalSigner>(std::move(new_key));
  {
    auto lg = must_open(o);
    for (int i = 0; i < 100; ++i) REQUIRE(lg->log(generation_event("n" + std::to_string(i))));
    REQUIRE(lg->close());
  }
  LogImage img = LogImage::load(k.dir);
  REQUIRE(seqs_of(img, "log.key_rotated").size() == 1);

  fa::VerifyOptions both = k.full();
  both.trusted_keys.push_back(new_verifier);
  const fa::VerifySummary s = verify_path(k.dir, both);
  INFO(describe(s));
  CHECK(s.intact);
  CHECK(s.signing_keys.size() == 2);

  // Only the new key trusted: the old checkpoints are signed by no trusted key.
  fa::VerifyOptions only_new;
  only_new.trusted_keys = {new_verifier};
  const fa::VerifySummary s2 = verify_path(k.dir, only_new);
  CHECK(has_reason(s2, Reason::checkpoint_signature));

  SECTION("a checkpoint after the rotation re-signed with the retired key") {
    // An intruder holding the old key rewrites the newest checkpoint's note with it (recomputing hashes).
    const std::vector<std::uint64_t> cps = seqs_of(img, "log.checkpoint");
    const std::uint64_t last_cp = cps.back();
    fa::note::SigningKey old_again = new_signing_key();  // stands in for the retired key: trust it too
    Rewrite how;
    how.resign = &old_again;
    rewrite_from(img, last_cp, how);
    img.save(k.dir);
    fa::VerifyOptions opt;
    opt.trusted_keys = {k.verifier, new_verifier, old_again.verifier()};
    const fa::VerifySummary t = verify_path(k.dir, opt);
    INFO(describe(t));
    REQUIRE_FALSE(t.intact);
    CHECK(first_finding(t).reason == Reason::checkpoint_signature);
    CHECK(first_finding(t).seq == last_cp);
    CHECK(first_finding(t).detail.find("retired") != std::string::npos);
  }
}

// ---- The tamper matrix, extended (issue: "an attacker who rewrites the suffix and recomputes every hash") ----

TEST_CASE("tamper: rewriting a record and recomputing every hash is caught by the MACs and the signatures",
          "[tamper][keys]") {
  KeyedLog k;
  k.write(300);
  LogImage img = LogImage::load(k.dir);
  const std::uint64_t victim = 150;
  {
    Rec r = parse_rec(img.line(victim));
    r.event = replace_once(r.event, "user_7", "user_8");
    img.line(victim) = build(r);
  }

  SECTION("hashes recomputed, checkpoints left as they were") {
    rewrite_from(img, victim + 1, Rewrite{nullptr, nullptr, std::nullopt, false});
    img.save(k.dir);
    // Chain alone: intact (the attacker recomputed it), which is why MACs and signatures exist.
    const fa::VerifySummary plain = verify_path(k.dir);
    CHECK_FALSE(plain.intact);  // the stale checkpoint roots already disagree, even without keys
    CHECK(has_reason(plain, Reason::checkpoint_invalid));
    const fa::VerifySummary with_seed = verify_path(k.dir, with_seed_only(k));
    REQUIRE_FALSE(with_seed.intact);
    CHECK(first_finding(with_seed).reason == Reason::mac_invalid);
    CHECK(first_finding(with_seed).seq == victim);
  }
  SECTION("hashes and checkpoint roots recomputed, notes kept") {
    rewrite_from(img, victim + 1, Rewrite{});
    img.save(k.dir);
    const fa::VerifySummary with_key = verify_path(k.dir, with_key_only(k));
    REQUIRE_FALSE(with_key.intact);
    CHECK(first_finding(with_key).reason == Reason::checkpoint_invalid);  // the note states the old root
    const fa::VerifySummary with_seed = verify_path(k.dir, with_seed_only(k));
    CHECK(first_finding(with_seed).reason == Reason::mac_invalid);
    CHECK(first_finding(with_seed).seq == victim);
  }
  SECTION("hashes recomputed and every checkpoint re-signed with the attacker's key") {
    fa::note::SigningKey mine = new_signing_key();  // same name, another key
    Rewrite how;
    how.resign = &mine;
    rewrite_from(img, victim + 1, how);
    img.save(k.dir);
    const fa::VerifySummary with_key = verify_path(k.dir, with_key_only(k));
    REQUIRE_FALSE(with_key.intact);
    CHECK(first_finding(with_key).reason == Reason::checkpoint_signature);
    CHECK(first_finding(with_key).detail.find("no trusted key") != std::string::npos);
    // The anchor file kept elsewhere still has the genuine checkpoints: the log no longer extends them.
    const fa::VerifySummary anchored = verify_path(k.dir, k.full());
    CHECK(has_reason(anchored, Reason::anchor_mismatch));
    CHECK(has_reason(anchored, Reason::mac_invalid));
  }
}

TEST_CASE("tamper: a record re-sealed with a later epoch's key is reported (journald CVE-2023-31439)",
          "[tamper][keys]") {
  KeyedLog k;
  k.write(300);
  LogImage img = LogImage::load(k.dir);
  const std::string log_id = log_id_of(img);
  const fa::mac::EpochKey current = stolen_key(k, log_id);  // the intruder's key: the newest epoch's
  const std::uint64_t victim = 45;                           // epoch 1 (40 records per epoch)
  REQUIRE(epoch_of(img.line(victim)) < current.epoch());
  Rec r = parse_rec(img.line(victim));
  r.event = replace_once(r.event, "user_7", "user_8");

  SECTION("claiming the later epoch") {
    img.line(victim) = retag(r, current, current.epoch());
    rewrite_from(img, victim + 1, Rewrite{});
    img.save(k.dir);
    const fa::VerifySummary s = verify_path(k.dir, with_seed_only(k));
    INFO(describe(s));
    REQUIRE_FALSE(s.intact);
    CHECK(first_finding(s).reason == Reason::mac_epoch);
    CHECK(first_finding(s).seq == victim);
    // One alteration, one epoch finding: the record after it follows the epoch the victim should have had.
    CHECK(std::count_if(s.findings.begin(), s.findings.end(),
                        [](const fa::Finding& f) { return f.reason == Reason::mac_epoch; }) == 1);
    // Without the seed the epoch rule still shows it: no key is needed to see a record in the wrong epoch.
    const fa::VerifySummary nokey = verify_path(k.dir);
    CHECK(first_finding(nokey).reason == Reason::mac_epoch);
  }
  SECTION("keeping its old epoch number") {
    img.line(victim) = retag(r, current, epoch_of(img.line(victim)));
    rewrite_from(img, victim + 1, Rewrite{});
    img.save(k.dir);
    const fa::VerifySummary s = verify_path(k.dir, with_seed_only(k));
    REQUIRE_FALSE(s.intact);
    CHECK(first_finding(s).reason == Reason::mac_invalid);
    CHECK(first_finding(s).seq == victim);
  }
}

TEST_CASE("tamper: truncating into a closed epoch and resuming is reported (journald CVE-2023-31438)",
          "[tamper][keys]") {
  KeyedLog k;
  k.write(300);
  LogImage img = LogImage::load(k.dir);
  const fa::mac::EpochKey current = stolen_key(k, log_id_of(img));
  // Cut the log after record 100 (epoch 2), then append forged records sealed with the current key.
  const std::uint64_t cut = 100;
  REQUIRE(epoch_of(img.line(cut)) + 1 < current.epoch());
  LogImage::Pos p = img.find(cut);
  img.segs.resize(p.seg + 1);
  img.segs.back().lines.resize(p.line + 1);
  Rec forged = parse_rec(img.line(cut));
  for (int i = 0; i < 5; ++i) {
    forged.seq += 1;
    forged.prev = chain_hash(img.segs.back().lines.back());
    forged.event = R"({"event_type":"generation.completed","request_id":"forged)" + std::to_string(i) + R"("})";
    img.segs.back().lines.push_back(retag(forged, current, current.epoch()));
  }
  img.save(k.dir);
  const fa::VerifySummary s = verify_path(k.dir, with_seed_only(k));
  INFO(describe(s));
  REQUIRE_FALSE(s.intact);
  CHECK(first_finding(s).reason == Reason::mac_epoch);
  CHECK(first_finding(s).seq == cut + 1);
  // The anchor file shows the truncation by itself.
  const fa::VerifySummary anchored = verify_path(k.dir, k.full());
  CHECK((has_reason(anchored, Reason::truncated_tail) || has_reason(anchored, Reason::anchor_mismatch)));
}

TEST_CASE("tamper: stripping the MACs is reported", "[tamper][keys]") {
  KeyedLog k;
  k.write(100);
  LogImage img = LogImage::load(k.dir);
  for (LogImage::Segment& s : img.segs)
    for (std::string& l : s.lines) {
      Rec r = parse_rec(l);
      r.mac.clear();
      l = build(r);
    }
  rewrite_from(img, 0, Rewrite{});
  img.save(k.dir);
  const fa::VerifySummary s = verify_path(k.dir, with_seed_only(k));
  REQUIRE_FALSE(s.intact);
  CHECK(first_finding(s).reason == Reason::mac_missing);
  CHECK(first_finding(s).seq == 0u);
}

TEST_CASE("tamper: deleting the newest records is caught given the anchor file", "[tamper][keys]") {
  KeyedLog k;
  k.write(200);
  LogImage img = LogImage::load(k.dir);
  const std::uint64_t last = parse_rec(img.segs.back().lines.back()).seq;
  img.segs.back().lines.resize(img.segs.back().lines.size() - 3);
  if (img.segs.back().lines.empty()) img.segs.pop_back();
  img.save(k.dir);
  // The chain and the MACs of what is left are fine: only the anchor says records are missing.
  const fa::VerifySummary no_anchor = verify_path(k.dir, with_seed_only(k));
  CHECK(no_anchor.intact);
  const fa::VerifySummary s = verify_path(k.dir, k.full());
  INFO(describe(s));
  REQUIRE_FALSE(s.intact);
  CHECK(first_finding(s).reason == Reason::truncated_tail);
  CHECK(first_finding(s).seq == last - 2);
}

TEST_CASE("tamper: a forged, a replayed and an untrusted checkpoint are each reported", "[tamper][keys]") {
  KeyedLog k;
  k.write(300);
  LogImage img = LogImage::load(k.dir);
  const std::vector<std::uint64_t> cps = seqs_of(img, "log.checkpoint");
  REQUIRE(cps.size() >= 4);
  const std::uint64_t target = cps[2];

  SECTION("forged: the signature bytes altered") {
    Rec r = parse_rec(img.line(target));
    nlohmann::json ev = nlohmann::json::parse(r.event);
    std::string note = ev["note"].get<std::string>();
    const auto sig = note.rfind(' ') + 5;  // inside the base64 signature, past the key ID
    note[sig] = note[sig] == 'A' ? 'B' : 'A';
    ev["note"] = note;
    r.event = fa::jcs::serialize(ev);
    img.line(target) = build(r);
    rewrite_from(img, target + 1, Rewrite{});
    img.save(k.dir);
    const fa::VerifySummary s = verify_path(k.dir, with_key_only(k));
    REQUIRE_FALSE(s.intact);
    CHECK(first_finding(s).reason == Reason::checkpoint_signature);
    CHECK(first_finding(s).seq == target);
  }
  SECTION("replayed: an older checkpoint copied in place of a newer one") {
    Rec r = parse_rec(img.line(target));
    r.event = parse_rec(img.line(cps[1])).event;
    img.line(target) = build(r);
    rewrite_from(img, target + 1, Rewrite{});
    img.save(k.dir);
    const fa::VerifySummary s = verify_path(k.dir, with_key_only(k));
    REQUIRE_FALSE(s.intact);
    CHECK(first_finding(s).reason == Reason::checkpoint_replayed);
    CHECK(first_finding(s).seq == target);
  }
  SECTION("untrusted: a checkpoint signed with a key the auditor does not trust") {
    fa::note::SigningKey mine = new_signing_key();
    Rewrite how;
    how.resign = &mine;
    rewrite_from(img, target, how);  // re-signs every checkpoint from target on
    img.save(k.dir);
    const fa::VerifySummary s = verify_path(k.dir, with_key_only(k));
    REQUIRE_FALSE(s.intact);
    CHECK(first_finding(s).reason == Reason::checkpoint_signature);
    CHECK(first_finding(s).seq == target);
  }
}

TEST_CASE("tamper: a rewritten history that re-grew past the anchored checkpoint is a fork", "[tamper][keys]") {
  KeyedLog k;
  k.write(150);
  // The attacker rebuilds the log from record 10 with its own content and its own checkpoint key, and even
  // holds the seed (the worst case for the MACs): only the off-host anchor file contradicts the new history.
  LogImage img = LogImage::load(k.dir);
  Rec r = parse_rec(img.line(10));
  r.event = replace_once(r.event, "user_7", "user_9");
  img.line(10) = build(r);
  fa::note::SigningKey mine = new_signing_key();
  Rewrite how;
  how.resign = &mine;
  rewrite_from(img, 11, how);
  img.save(k.dir);
  fa::VerifyOptions o;
  auto anchors = fa::AnchorSet::load(k.anchor_file);
  REQUIRE(anchors);
  o.checkpoint_anchors = anchors->checkpoints;
  const fa::VerifySummary s = verify_path(k.dir, o);
  INFO(describe(s));
  REQUIRE_FALSE(s.intact);
  CHECK(has_reason(s, Reason::anchor_mismatch));
  CHECK(s.checkpoint_anchors_checked == anchors->checkpoints.size());
}

// Under ThreadSanitizer too (scripts/test.sh runs the "concurrency:" tests there): MAC epochs, checkpoints
// and their anchors are the writer thread's business while producers log and flush concurrently.
TEST_CASE("concurrency: producers log and flush while the writer ends epochs and signs checkpoints", "[keys]") {
  KeyedLog k;
  fa::LoggerOptions o = k.options();
  o.mac_epoch_records = 17;
  o.checkpoint_records = 23;
  o.mac_epoch_interval = std::chrono::milliseconds(5);
  o.checkpoint_interval = std::chrono::milliseconds(7);
  std::atomic<int> anchored{0};
  o.on_checkpoint = [&](const fa::CheckpointAnchor&) { ++anchored; };
  auto lg = must_open(o);
  const int threads = 4, per_thread = kUnderTsan ? 150 : 600;
  std::atomic<int> failures{0};  // Catch2 assertions are not thread-safe: count in the threads, check after
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        if (!lg->log(generation_event("t" + std::to_string(t) + "-" + std::to_string(i)))) ++failures;
        if (i % 50 == 0 && !lg->flush()) ++failures;
        if (i % 100 == 0) (void)lg->stats();
      }
    });
  for (std::thread& th : pool) th.join();
  REQUIRE(failures.load() == 0);
  REQUIRE(lg->close());
  const fa::VerifySummary s = verify_path(k.dir, k.full());
  INFO(describe(s));
  CHECK(s.intact);
  CHECK(user_events(read_records(k.dir)).size() == static_cast<std::size_t>(threads * per_thread));
  CHECK(s.macs_checked == s.records);
  CHECK(s.checkpoint_anchors_checked == static_cast<std::uint64_t>(anchored.load()));
  CHECK(anchored.load() >= 2);
}

// ---- Found in review: each of these was an attack or a false alarm before its fix ----

TEST_CASE("tamper: rotating back to a retired (leaked) key is reported", "[tamper][keys]") {
  KeyedLog k;
  k.write(60);
  fa::note::SigningKey b = new_signing_key("audit.example/fooocus-b");
  const fa::note::VerifierKey b_verifier = b.verifier();
  fa::LoggerOptions o = k.options();
  o.signer = std::make_shared<fa::LocalSigner>(std::move(b));
  {
    auto lg = must_open(o);  // A -> B
    for (int i = 0; i < 60; ++i) REQUIRE(lg->log(generation_event("b" + std::to_string(i))));
    REQUIRE(lg->close());
  }
  o.signer = std::make_shared<fa::LocalSigner>(k.signing_key());  // whoever holds A's leaked key: B -> A
  {
    auto lg = must_open(o);
    for (int i = 0; i < 60; ++i) REQUIRE(lg->log(generation_event("a" + std::to_string(i))));
    REQUIRE(lg->close());
  }
  const LogImage img = LogImage::load(k.dir);
  const std::vector<std::uint64_t> rotations = seqs_of(img, "log.key_rotated");
  REQUIRE(rotations.size() == 2);
  fa::VerifyOptions both = k.full();
  both.trusted_keys.push_back(b_verifier);
  const fa::VerifySummary s = verify_path(k.dir, both);
  INFO(describe(s));
  REQUIRE_FALSE(s.intact);
  CHECK(first_finding(s).reason == Reason::checkpoint_signature);
  CHECK(first_finding(s).seq == rotations[1]);
  CHECK(first_finding(s).detail.find("already used and retired") != std::string::npos);
}

TEST_CASE("tamper: a forged log.key_rotated to an untrusted key is reported", "[tamper][keys]") {
  KeyedLog k;
  k.write(100);
  LogImage img = LogImage::load(k.dir);
  const std::vector<std::uint64_t> cps = seqs_of(img, "log.checkpoint");
  const std::uint64_t at = cps[1] + 1;
  fa::note::SigningKey mine = new_signing_key();
  Rec r = parse_rec(img.line(at));
  nlohmann::json ev = {{"event_type", "log.key_rotated"},
                       {"old_key", fa::note::key_label(k.verifier.name, k.verifier.id)},
                       {"new_key", mine.verifier().text()}};
  r.event = fa::jcs::serialize(ev);
  img.line(at) = build(r);
  rewrite_from(img, at + 1, Rewrite{});
  img.save(k.dir);
  const fa::VerifySummary s = verify_path(k.dir, with_key_only(k));
  INFO(describe(s));
  REQUIRE_FALSE(s.intact);
  CHECK(first_finding(s).reason == Reason::checkpoint_signature);
  CHECK(first_finding(s).seq == at);
  CHECK(first_finding(s).detail.find("not trusted") != std::string::npos);
}

TEST_CASE("keys: one segment file is checked against its own first signed checkpoint", "[keys]") {
  KeyedLog k;
  fa::LoggerOptions o = k.options();
  o.max_segment_bytes = 256 * 1024;
  {
    auto lg = must_open(o);
    for (int i = 0; i < 700; ++i) REQUIRE(lg->log(generation_event("r" + std::to_string(i))));
    REQUIRE(lg->close());
  }
  LogImage img = LogImage::load(k.dir);
  REQUIRE(img.segs.size() >= 3);
  const std::string middle = k.dir + "/" + img.segs[1].name;
  const fa::VerifySummary s = verify_path(middle, with_key_only(k));
  INFO(describe(s));
  REQUIRE(s.intact);
  CHECK(s.checkpoints_verified >= 2);
  CHECK(s.checkpoint_roots_unchecked == 0);  // every later root compared with the records
  REQUIRE(s.merkle_root);                     // the whole tree up to the segment's end, from the signed start

  // An intruder alters a record in the middle of that segment and re-links the rest (no MAC seed given).
  const std::uint64_t victim = parse_rec(img.segs[1].lines[img.segs[1].lines.size() / 3]).seq;
  Rec r = parse_rec(img.line(victim));
  r.event = replace_once(r.event, "user_7", "user_9");
  img.line(victim) = build(r);
  rewrite_from(img, victim + 1, Rewrite{});
  img.save(k.dir);
  const fa::VerifySummary t = verify_path(middle, with_key_only(k));
  INFO(describe(t));
  REQUIRE_FALSE(t.intact);
  CHECK(first_finding(t).reason == Reason::checkpoint_invalid);
}

TEST_CASE("keys: a MAC key converted by a creation that stopped before any record is used again", "[keys]") {
  KeyedLog k;
  // The creating writer converted the seed for its new log id, then died before log.opened was durable.
  const std::string stranded = "0123456789abcdef0123456789abcdef";
  {
    auto ws = fa::mac::WriterState::open(k.writer_key, stranded);
    REQUIRE(ws);
  }
  k.write(20);
  const LogImage img = LogImage::load(k.dir);
  CHECK(log_id_of(img) == stranded);
  const fa::VerifySummary s = verify_path(k.dir, k.full());
  INFO(describe(s));
  CHECK(s.intact);
  CHECK(s.macs_checked == s.records);
}

TEST_CASE("keys: after a signer outage spanning a restart, the signer accepts the log again", "[keys]") {
  KeyedLog k;
  const std::string state = k.tmp / "signer.state";
  auto signer_with_memory = [&] {
    auto s = fa::LocalSigner::open(k.signing_key(), state);  // remembers what it signed, like a SignServer
    REQUIRE(s);
    return std::shared_ptr<fa::LocalSigner>(std::move(s.value()));
  };
  fa::LoggerOptions o = k.options();
  o.signer = signer_with_memory();
  {
    auto lg = must_open(o);
    for (int i = 0; i < 100; ++i) REQUIRE(lg->log(generation_event("a" + std::to_string(i))));
    REQUIRE(lg->close());
  }
  auto down = std::make_shared<FailingSigner>(k.verifier);
  o.signer = down;
  {
    auto lg = must_open(o);
    for (int i = 0; i < 150; ++i) REQUIRE(lg->log(generation_event("b" + std::to_string(i))));
    REQUIRE(lg->close());
  }
  o.signer = signer_with_memory();
  std::atomic<int> errors{0};
  o.on_error = [&](const fa::Status& st) {
    if (!st.ok()) ++errors;
  };
  {
    auto lg = must_open(o);
    for (int i = 0; i < 100; ++i) REQUIRE(lg->log(generation_event("c" + std::to_string(i))));
    REQUIRE(lg->close());
  }
  CHECK(errors.load() == 0);  // the signer is given every leaf since what it last signed: no gap
  const fa::VerifySummary s = verify_path(k.dir, k.full());
  INFO(describe(s));
  CHECK(s.intact);
  REQUIRE(s.last_signed_checkpoint);
  CHECK(*s.last_signed_checkpoint == *s.last_seq);
  CHECK(s.checkpoints_unsigned >= 2);
}

TEST_CASE("verifier: a hostile MAC epoch number costs a bounded amount of key derivation", "[keys]") {
  KeyedLog k;
  k.write(30);
  LogImage img = LogImage::load(k.dir);
  // One appended line claims a record near 2^53 in an epoch just below it: deriving that key would take
  // centuries. The verifier reports the line and finishes (the ctest timeout would catch a hang).
  Rec r = parse_rec(img.segs.back().lines.back());
  r.seq = (std::uint64_t{1} << 53) - 2;
  r.prev = chain_hash(img.segs.back().lines.back());
  r.mac = R"(,"mac":{"epoch":)" + std::to_string(r.seq - 10) + R"(,"tag":")" + std::string(64, 'a') + R"("})";
  img.segs.back().lines.push_back(build(r));
  img.save(k.dir);
  const fa::VerifySummary s = verify_path(k.dir, with_seed_only(k));
  INFO(describe(s));
  REQUIRE_FALSE(s.intact);
  CHECK(s.macs_unchecked >= 1);
  CHECK(s.macs_checked == s.records - s.macs_unchecked);
}

TEST_CASE("tamper: a fabricated log under a new log id is reported when the auditor names the expected one",
          "[tamper][keys]") {
  KeyedLog real;
  real.write(20);
  const std::string expected = log_id_of(LogImage::load(real.dir));
  // A compromised writer starts over in the same directory: a new log, signed by a signer that trusts a new
  // origin on first use. Only the expected log id (and the MACs) tell.
  fa_test::TempDir t2;
  const std::string forged = t2 / "log";
  {
    fa::LoggerOptions o = options_for(forged);
    o.signer = real.signer;
    auto lg = must_open(o);
    REQUIRE(lg->log(generation_event("forged")));
    REQUIRE(lg->close());
  }
  fa::VerifyOptions o = with_key_only(real);
  REQUIRE(verify_path(forged, o).intact);
  o.expected_log_id = expected;
  const fa::VerifySummary s = verify_path(forged, o);
  REQUIRE_FALSE(s.intact);
  CHECK(first_finding(s).reason == Reason::log_id_mismatch);
  CHECK(first_finding(s).seq == 0u);
}

// docs/log-format.md §10.2 pins this vector; Ed25519 is deterministic, so the note is byte-exact.
TEST_CASE("keys: the signed checkpoint test vector of the spec", "[keys]") {
  std::array<std::uint8_t, 32> seed{};
  for (int i = 0; i < 32; ++i) seed[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i);
  auto key = fa::note::SigningKey::from_seed("example.com/fooocus", seed);
  REQUIRE(key);
  CHECK(key->verifier().text() == "example.com/fooocus+7eb10363+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4");
  fa::Hash root{};
  REQUIRE(fa::detail::parse_hash_hex("1548a4f1fcbefd14efbdeb4594ed337378f5b2a5f46659f8ccda7ab0fe463991", &root));
  const fa::note::Checkpoint c{fa::note::checkpoint_origin("example.com/fooocus", std::string(32, '0')), 1, root, {}};
  auto note = fa::note::sign_note(fa::note::format_checkpoint(c), key.value());
  REQUIRE(note);
  CHECK(note.value() ==
        "example.com/fooocus/00000000000000000000000000000000\n1\nFUik8fy+/RTvvetFlO0zc3j1sqX0Zln4zNp6sP5GOZE=\n\n"
        "\xe2\x80\x94 example.com/fooocus "
        "frEDY17B5kXk8NY2+rSMXSXKh8YwiDCM6SDUeiaSujX9Y3NbfFxj5brDf6yX9CXIAtEh6PhQp8izu1ZEcvNCsK4YvQI=\n");
}
