// SPDX-License-Identifier: Apache-2.0
// The forward-secure MAC key schedule (docs/log-format.md §9.1) and its key files (§10.6).
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/mac_key.hpp"
#include "support/files.hpp"

namespace fa = fooocus_audit;
namespace mac = fooocus_audit::mac;
using fa::Code;
using fa::Hash;
using fa::detail::to_hex;

namespace {

const std::string kLogId(32, '0');
const std::string kOtherLogId = "0123456789abcdef0123456789abcdef";

mac::Seed vector_seed() {
  mac::Key b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i);
  return mac::Seed::from_bytes(b);
}

mac::Seed random_seed() {
  fa::Result<mac::Seed> s = mac::Seed::generate();
  REQUIRE(s);
  return std::move(s).value();
}

Hash digest_of(std::string_view u) {
  std::string msg(1, '\0');
  msg.append(u);
  return fa::detail::sha256(msg);
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Epoch of a state file as a verifier and as diagnostics see it (both must agree); nullopt-like -1 when the
// file has no valid state.
long long loaded_epoch(const std::string& path) {
  fa::Result<mac::EpochKey> k = mac::EpochKey::load(path, kLogId);
  fa::Result<mac::StateInfo> info = mac::WriterState::inspect(path);
  REQUIRE(k.ok() == info.ok());
  if (!k) {
    REQUIRE(k.status().code() == Code::corruption);
    return -1;
  }
  REQUIRE(info->epoch == k->epoch());
  return static_cast<long long>(k->epoch());
}

}  // namespace

TEST_CASE("mac: known-answer vectors (tests/interop/mac_vectors.py)") {
  const mac::Seed seed = vector_seed();
  CHECK(seed.text() ==
        "fooocus-audit-mac-seed-v1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
  const mac::EpochKey k0 = mac::EpochKey::initial(seed, kLogId);
  const mac::EpochKey k1 = k0.next();
  CHECK(k0.epoch() == 0);
  CHECK(k1.epoch() == 1);
  CHECK(to_hex(k0.bytes()) == "31a183144bca361980abe6a38222f830265d6d32ad87529feebac680243ad6ba");
  CHECK(to_hex(k1.bytes()) == "bec8bdf4731117dbb8cf336ee56549cc8f7f0b15958accef97ddf5d77e7258fd");
  CHECK(to_hex(k0.record_key()) == "8c0ed25b53f1a8f9aaa033cab32872c2076effa193cb9413cbc09150acc07897");
  CHECK(to_hex(k1.record_key()) == "9ab1952a831451edde6a9adf9daccffef0ec9ad41e34b04f423048af139f2504");
  const Hash d = digest_of("abc");
  CHECK(to_hex(d) == "609f6e36d2405585188d5cfd761f407c7cc46a7d3f314c88270469dde315fcd1");
  mac::RecordMac r0(k0), r1(k1);
  CHECK(r0.epoch() == 0);
  CHECK(r1.epoch() == 1);
  CHECK(to_hex(r0.tag(d)) == "1614cff762d4ca1bf35591f1caef453cbaa6bb86b1d84822b5378e0dec322dc5");
  CHECK(to_hex(r1.tag(d)) == "82829b74a39895b46553e0156b142baae3a49c49b86f9cff818f46c9a633257b");

  // The state file after conversion and after one advance.
  fa_test::TempDir dir("fa_mac");
  const std::string path = dir / "mac.key";
  REQUIRE(seed.save(path));
  fa::Result<mac::WriterState> w = mac::WriterState::open(path, kLogId);
  REQUIRE(w);
  CHECK(to_hex(fa::detail::sha256(fa_test::read_bytes(path))) ==
        "41a3f3485cf17098e19c93f69afdd9e0aff40d5992b277d0f3d8fad3339ce4c3");
  REQUIRE(w->advance());
  CHECK(to_hex(fa::detail::sha256(fa_test::read_bytes(path))) ==
        "072c80d1098bac005672c8deb08b7a49fc435d4e2259e80d29a779ce479c4403");
}

TEST_CASE("mac: seed text and file round trip") {
  fa_test::TempDir dir("fa_mac");
  const mac::Seed seed = random_seed();
  const std::string text = seed.text();
  REQUIRE(text.size() == 26 + 64 + 1);

  fa::Result<mac::Seed> parsed = mac::Seed::parse(text);
  REQUIRE(parsed);
  CHECK(parsed->bytes() == seed.bytes());
  fa::Result<mac::Seed> no_lf = mac::Seed::parse(std::string_view(text).substr(0, text.size() - 1));
  REQUIRE(no_lf);
  CHECK(no_lf->bytes() == seed.bytes());

  const std::string path = dir / "mac.key";
  REQUIRE(seed.save(path));
  CHECK(mode_of(path) == 0600);
  CHECK(fa_test::read_bytes(path) == text);
  fa::Result<mac::Seed> loaded = mac::Seed::load(path);
  REQUIRE(loaded);
  CHECK(loaded->bytes() == seed.bytes());
  fa::Result<mac::KeyFileKind> kind = mac::detect_key_file(path);
  REQUIRE(kind);
  CHECK(*kind == mac::KeyFileKind::seed);
  fa::Result<mac::StateInfo> info = mac::WriterState::inspect(path);
  REQUIRE(info);
  CHECK(info->kind == mac::KeyFileKind::seed);
  CHECK(info->log_id.empty());

  // save() never overwrites.
  const mac::Seed other = random_seed();
  CHECK(other.bytes() != seed.bytes());
  fa::Status again = other.save(path);
  CHECK(again.code() == Code::io_error);
  CHECK(fa_test::read_bytes(path) == text);
  CHECK(mac::Seed::load(dir / "missing").status().code() == Code::not_found);

  // A moved-from seed holds zeros.
  mac::Seed moved = std::move(parsed).value();
  CHECK(moved.bytes() == seed.bytes());
  CHECK(parsed->bytes() == mac::Key{});
}

TEST_CASE("mac: seed parse rejects malformed text") {
  const std::string good = vector_seed().text();
  const std::string hex = good.substr(26, 64);
  const std::vector<std::string> bad = {
      "",
      "\n",
      "fooocus-audit-mac-seed-v1",
      "fooocus-audit-mac-seed-v1 \n",
      "fooocus-audit-mac-seed-v2 " + hex + "\n",
      "fooocus-audit-mac-seed-v1  " + hex + "\n",
      "fooocus-audit-mac-seed-v1\t" + hex + "\n",
      "fooocus-audit-mac-seed-v1 " + hex.substr(0, 62) + "\n",
      "fooocus-audit-mac-seed-v1 " + hex + "00\n",
      "fooocus-audit-mac-seed-v1 " + hex.substr(0, 63) + "G\n",
      "fooocus-audit-mac-seed-v1 " + hex.substr(0, 63) + "F\n",  // uppercase
      "fooocus-audit-mac-seed-v1 " + hex + "\n\n",
      "fooocus-audit-mac-seed-v1 " + hex + "\r\n",
      "fooocus-audit-mac-seed-v1 " + hex + " \n",
      " fooocus-audit-mac-seed-v1 " + hex + "\n",
      std::string("fooocus-audit-mac-seed-v1 ") + hex + std::string("\0", 1),
  };
  for (const std::string& t : bad) {
    INFO(t);
    fa::Result<mac::Seed> s = mac::Seed::parse(t);
    REQUIRE_FALSE(s);
    CHECK(s.status().code() == Code::invalid_argument);
    CHECK(s.status().message().find(hex.substr(0, 8)) == std::string::npos);  // never echoes the key
  }

  fa_test::TempDir dir("fa_mac");
  fa_test::write_bytes(dir / "bad.key", "fooocus-audit-mac-seed-v1 xyz\n");
  CHECK(mac::Seed::load(dir / "bad.key").status().code() == Code::invalid_argument);
  CHECK(mac::WriterState::open(dir / "bad.key", kLogId).status().code() == Code::invalid_argument);
  fa_test::write_bytes(dir / "big.key", std::string(300, 'x'));
  CHECK(mac::detect_key_file(dir / "big.key").status().code() == Code::corruption);
  CHECK(mac::WriterState::open(dir / "big.key", kLogId).status().code() == Code::corruption);
}

TEST_CASE("mac: converting a seed file overwrites the seed in place") {
  fa_test::TempDir dir("fa_mac");
  const std::string path = dir / "mac.key";
  const mac::Seed seed = random_seed();
  REQUIRE(seed.save(path));
  const std::string seed_hex = to_hex(seed.bytes());
  struct stat before {};
  REQUIRE(::stat(path.c_str(), &before) == 0);

  CHECK(mac::WriterState::open(path, "not-a-log-id").status().code() == Code::invalid_argument);
  {
    fa::Result<mac::WriterState> w = mac::WriterState::open(path, kLogId);
    REQUIRE(w);
    CHECK(w->epoch() == 0);
    CHECK(w->log_id() == kLogId);
    const Hash d = digest_of("record");
    CHECK(w->mac().tag(d) == mac::RecordMac(mac::EpochKey::initial(seed, kLogId)).tag(d));
  }

  const std::string raw = fa_test::read_bytes(path);
  REQUIRE(raw.size() == mac::kStateFileBytes);
  CHECK(raw.find(seed_hex) == std::string::npos);
  CHECK(raw.find(seed_hex.substr(0, 16)) == std::string::npos);
  CHECK(raw.find(std::string(reinterpret_cast<const char*>(seed.bytes().data()), 8)) == std::string::npos);
  CHECK(raw.find("fooocus-audit-mac-seed") == std::string::npos);
  CHECK(raw.substr(0, 8) == "FAMACST1");
  CHECK(raw.substr(128) == std::string(128, '\0'));
  struct stat after {};
  REQUIRE(::stat(path.c_str(), &after) == 0);
  CHECK(after.st_ino == before.st_ino);  // in place, not a new file
  CHECK((after.st_mode & 07777) == 0600);

  fa::Result<mac::KeyFileKind> kind = mac::detect_key_file(path);
  REQUIRE(kind);
  CHECK(*kind == mac::KeyFileKind::state);
  fa::Result<mac::StateInfo> info = mac::WriterState::inspect(path);
  REQUIRE(info);
  CHECK(info->kind == mac::KeyFileKind::state);
  CHECK(info->epoch == 0);
  CHECK(info->log_id == kLogId);
  fa::Result<mac::Seed> as_seed = mac::Seed::load(path);
  CHECK(as_seed.status().code() == Code::invalid_argument);
  fa::Result<mac::EpochKey> k = mac::EpochKey::load(path, kLogId);
  REQUIRE(k);
  CHECK(k->bytes() == mac::EpochKey::initial(seed, kLogId).bytes());

  // Re-opening loads the state; it is not converted again.
  fa::Result<mac::WriterState> again = mac::WriterState::open(path, kLogId);
  REQUIRE(again);
  CHECK(again->epoch() == 0);
  CHECK(fa_test::read_bytes(path) == raw);
}

TEST_CASE("mac: evolution is deterministic and every key differs") {
  const mac::Seed seed = random_seed();
  std::set<std::string> seen;
  mac::EpochKey k = mac::EpochKey::initial(seed, kLogId);
  CHECK(k.bytes() == mac::EpochKey::initial(seed, kLogId).bytes());
  const mac::EpochKey start = mac::EpochKey::from_bytes(k.epoch(), k.bytes());
  for (std::uint64_t e = 0; e < 64; ++e) {
    REQUIRE(k.epoch() == e);
    CHECK(seen.insert(to_hex(k.bytes())).second);
    CHECK(seen.insert(to_hex(k.record_key())).second);
    CHECK(mac::key_for_epoch(seed, kLogId, e).bytes() == k.bytes());
    fa::Result<mac::EpochKey> fwd = start.forward_to(e);
    REQUIRE(fwd);
    CHECK(fwd->bytes() == k.bytes());
    k = k.next();
  }
  CHECK(k.forward_to(3).status().code() == Code::invalid_argument);
  fa::Result<mac::EpochKey> same = k.forward_to(k.epoch());
  REQUIRE(same);
  CHECK(same->bytes() == k.bytes());

  // Another log, another seed: other keys.
  CHECK(mac::EpochKey::initial(seed, kOtherLogId).bytes() != mac::EpochKey::initial(seed, kLogId).bytes());
  CHECK(mac::EpochKey::initial(random_seed(), kLogId).bytes() !=
        mac::EpochKey::initial(seed, kLogId).bytes());
}

TEST_CASE("mac: RecordMac tags are HMAC under M_e and check rejects any flipped bit") {
  const mac::EpochKey k = mac::key_for_epoch(random_seed(), kLogId, 7);
  mac::RecordMac m(k);
  CHECK(m.epoch() == 7);
  const mac::Key mk = k.record_key();
  mac::RecordMac copy = m.clone();
  for (int i = 0; i < 20; ++i) {  // the reused context restarts from the key every time
    const Hash d = digest_of("record " + std::to_string(i));
    const Hash t = m.tag(d);
    CHECK(t == fa::detail::hmac_sha256(mk.data(), mk.size(),
                                       std::string_view(reinterpret_cast<const char*>(d.data()), d.size())));
    CHECK(copy.tag(d) == t);
    CHECK(m.check(d, t.data()));
  }
  const Hash d = digest_of("abc");
  const Hash t = m.tag(d);
  for (std::size_t bit = 0; bit < 256; ++bit) {
    Hash bad = t;
    bad[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    CHECK_FALSE(m.check(d, bad.data()));
  }
  Hash other_d = d;
  other_d[31] ^= 1;
  CHECK_FALSE(m.check(other_d, t.data()));
  CHECK_FALSE(mac::RecordMac(k.next()).check(d, t.data()));
}

TEST_CASE("mac: advance survives a crash at every byte of both writes") {
  fa_test::TempDir dir("fa_mac");
  const std::string path = dir / "mac.key";
  const mac::Seed seed = random_seed();
  REQUIRE(seed.save(path));

  for (std::uint64_t e = 0; e < 2; ++e) {  // the new state goes to slot 1, then to slot 0
    std::string before, after;
    {
      fa::Result<mac::WriterState> w = mac::WriterState::open(path, kLogId);
      REQUIRE(w);
      REQUIRE(w->epoch() == e);
      before = fa_test::read_bytes(path);
      REQUIRE(w->advance());
      REQUIRE(w->epoch() == e + 1);
      after = fa_test::read_bytes(path);
    }
    REQUIRE(before.size() == 256);
    REQUIRE(after.size() == 256);
    const std::size_t old_at = e % 2 == 0 ? 0 : 128, new_at = 128 - old_at;
    CHECK(after.substr(old_at, 128) == std::string(128, '\0'));

    // Step 1 torn after k bytes: still epoch e (e + 1 once the slot is complete).
    std::string file = before;
    for (std::size_t k = 0; k <= 128; ++k) {
      if (k > 0) file[new_at + k - 1] = after[new_at + k - 1];
      fa_test::write_bytes(path, file);
      INFO("step 1, byte " << k);
      // The slot is complete once its bytes are (a byte may already hold its new value, e.g. a zero).
      const bool complete = file.compare(new_at, 128, after, new_at, 128) == 0;
      CHECK(loaded_epoch(path) == static_cast<long long>(complete ? e + 1 : e));
    }
    // Step 2 (zeroing the old slot) torn after k bytes: e + 1.
    for (std::size_t k = 1; k <= 128; ++k) {
      file[old_at + k - 1] = '\0';
      fa_test::write_bytes(path, file);
      INFO("step 2, byte " << k);
      CHECK(loaded_epoch(path) == static_cast<long long>(e + 1));
    }
    CHECK(file == after);

    // A writer restarting between the steps continues from e + 1 and erases the stale slot holding K_e.
    std::string between = before;
    between.replace(new_at, 128, after.substr(new_at, 128));
    fa_test::write_bytes(path, between);
    {
      fa::Result<mac::WriterState> w = mac::WriterState::open(path, kLogId);
      REQUIRE(w);
      CHECK(w->epoch() == e + 1);
      const Hash d = digest_of("x");
      CHECK(w->mac().tag(d) == mac::RecordMac(mac::key_for_epoch(seed, kLogId, e + 1)).tag(d));
    }
    CHECK(fa_test::read_bytes(path) == after);
  }
}

TEST_CASE("mac: a damaged slot falls back to the other and two damaged slots are corruption") {
  fa_test::TempDir dir("fa_mac");
  const std::string path = dir / "mac.key";
  const mac::Seed seed = random_seed();
  REQUIRE(seed.save(path));
  std::string e2, e3;  // state of epoch 2 in slot 0, of epoch 3 in slot 1
  {
    fa::Result<mac::WriterState> w = mac::WriterState::open(path, kLogId);
    REQUIRE(w);
    REQUIRE(w->advance());
    REQUIRE(w->advance());
    e2 = fa_test::read_bytes(path);
    REQUIRE(w->advance());
    e3 = fa_test::read_bytes(path);
  }
  // Both slots valid, as a crash between the two steps of advance() leaves them.
  std::string both = e3;
  both.replace(0, 128, e2.substr(0, 128));
  fa_test::write_bytes(path, both);
  REQUIRE(loaded_epoch(path) == 3);

  // (replace() rather than operator[]: GCC 12 -O2 reports a false -Wstringop-overflow for the latter here)
  auto with = [](std::string bytes, std::size_t slot, char how) {
    const std::size_t at = slot * 128;
    auto flip = [&](std::size_t i, unsigned mask) {
      bytes.replace(i, 1, 1, static_cast<char>(static_cast<unsigned char>(bytes.at(i)) ^ mask));
    };
    if (how == 'z') bytes.replace(at, 128, std::string(128, '\0'));
    if (how == 'g') flip(at + 40, 0x01);   // inside the key
    if (how == 'm') flip(at, 0x20);        // magic
    if (how == 'c') flip(at + 127, 0x80);  // checksum
    if (how == 'e') flip(at + 15, 0x04);   // epoch
    return bytes;
  };
  for (char how : {'z', 'g', 'm', 'c', 'e'}) {
    INFO("damage " << how);
    fa_test::write_bytes(path, with(both, 1, how));
    CHECK(loaded_epoch(path) == 2);
    fa_test::write_bytes(path, with(both, 0, how));
    CHECK(loaded_epoch(path) == 3);
    fa_test::write_bytes(path, with(e3, 1, how));
    CHECK(loaded_epoch(path) == -1);
    fa_test::write_bytes(path, with(with(both, 0, how), 1, 'g'));
    CHECK(loaded_epoch(path) == -1);
    fa::Result<mac::WriterState> w = mac::WriterState::open(path, kLogId);
    CHECK(w.status().code() == Code::corruption);
  }
  // Truncation: a missing slot is an invalid slot.
  fa_test::write_bytes(path, both);
  fa_test::truncate_file(path, 200);
  CHECK(loaded_epoch(path) == 2);
  fa_test::truncate_file(path, 100);
  CHECK(loaded_epoch(path) == -1);
  fa_test::truncate_file(path, 0);
  CHECK(loaded_epoch(path) == -1);
  // The fallback key is the right one, and a writer resumes from it with a whole file again.
  fa_test::write_bytes(path, both.substr(0, 128));
  {
    fa::Result<mac::WriterState> w = mac::WriterState::open(path, kLogId);
    REQUIRE(w);
    CHECK(w->epoch() == 2);
    REQUIRE(w->advance());
    CHECK(w->epoch() == 3);
  }
  CHECK(fa_test::read_bytes(path) == e3);
}

TEST_CASE("mac: a state file bound to another log is refused") {
  fa_test::TempDir dir("fa_mac");
  const std::string path = dir / "mac.key";
  REQUIRE(random_seed().save(path));
  { REQUIRE(mac::WriterState::open(path, kLogId)); }
  const std::string raw = fa_test::read_bytes(path);
  fa::Result<mac::WriterState> w = mac::WriterState::open(path, kOtherLogId);
  REQUIRE_FALSE(w);
  CHECK(w.status().code() == Code::invalid_argument);
  CHECK(w.status().message().find("MAC key file belongs to log " + kLogId) != std::string::npos);
  fa::Result<mac::EpochKey> k = mac::EpochKey::load(path, kOtherLogId);
  CHECK(k.status().code() == Code::invalid_argument);
  CHECK(fa_test::read_bytes(path) == raw);  // untouched
}

TEST_CASE("mac: key files accessible to group or others are refused") {
  fa_test::TempDir dir("fa_mac");
  const std::string seed_path = dir / "seed.key", state_path = dir / "state.key";
  const mac::Seed seed = random_seed();
  REQUIRE(seed.save(seed_path));
  REQUIRE(seed.save(state_path));
  { REQUIRE(mac::WriterState::open(state_path, kLogId)); }
  const std::string seed_raw = fa_test::read_bytes(seed_path);

  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0610, 0601}) {
    INFO("mode " << std::oct << mode);
    for (const std::string& path : {seed_path, state_path}) {
      REQUIRE(::chmod(path.c_str(), mode) == 0);
      auto refused = [](const fa::Status& s) {
        CHECK(s.code() == Code::invalid_argument);
        CHECK(s.message().find("chmod 600") != std::string::npos);
      };
      refused(mac::WriterState::open(path, kLogId).status());
      refused(mac::EpochKey::load(path, kLogId).status());
      refused(mac::WriterState::inspect(path).status());
      refused(mac::detect_key_file(path).status());
      if (path == seed_path) refused(mac::Seed::load(path).status());
    }
  }
  CHECK(fa_test::read_bytes(seed_path) == seed_raw);  // not converted
  REQUIRE(::chmod(seed_path.c_str(), 0400) == 0);     // owner-only modes are fine
  CHECK(mac::Seed::load(seed_path));
}

TEST_CASE("mac: one writer per key file") {
  fa_test::TempDir dir("fa_mac");
  const std::string path = dir / "mac.key";
  REQUIRE(random_seed().save(path));
  fa::Result<mac::WriterState> w = mac::WriterState::open(path, kLogId);
  REQUIRE(w);
  CHECK(mac::WriterState::open(path, kLogId).status().code() == Code::locked);
  CHECK(mac::EpochKey::load(path, kLogId));  // readers are not blocked
  mac::WriterState moved = std::move(w).value();
  CHECK(mac::WriterState::open(path, kLogId).status().code() == Code::locked);
  { mac::WriterState gone = std::move(moved); }
  CHECK(mac::WriterState::open(path, kLogId));
}

TEST_CASE("mac: a thousand advances then the verifier derives the same key") {
  fa_test::TempDir dir("fa_mac");
  const std::string path = dir / "mac.key";
  const mac::Seed seed = random_seed();
  REQUIRE(seed.save(path));
  const Hash d = digest_of("last record");
  Hash tag{};
  {
    fa::Result<mac::WriterState> w = mac::WriterState::open(path, kLogId);
    REQUIRE(w);
    for (int i = 0; i < 1000; ++i) REQUIRE(w->advance());
    CHECK(w->epoch() == 1000);
    CHECK(w->mac().epoch() == 1000);
    tag = w->mac().tag(d);
  }
  const mac::EpochKey k = mac::key_for_epoch(seed, kLogId, 1000);
  CHECK(mac::RecordMac(k).check(d, tag.data()));
  fa::Result<mac::EpochKey> from_file = mac::EpochKey::load(path, kLogId);
  REQUIRE(from_file);
  CHECK(from_file->epoch() == 1000);
  CHECK(from_file->bytes() == k.bytes());
  // An auditor holding only the state file reaches later epochs, never earlier ones.
  CHECK(from_file->forward_to(999).status().code() == Code::invalid_argument);
  fa::Result<mac::EpochKey> later = from_file->forward_to(1001);
  REQUIRE(later);
  CHECK(later->bytes() == k.next().bytes());
}
