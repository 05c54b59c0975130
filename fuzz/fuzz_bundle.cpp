// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: check_bundle (proof_bundle.hpp, docs/log-format.md §11.2) on arbitrary bytes, with the
// fixed trusted key of fuzz_fixed_key.hpp (the seeds in fuzz/corpus/fuzz_bundle are real bundles of logs it
// signed) and without keys.
//
// Invariants (any violation aborts; ASan/UBSan and LeakSanitizer catch the rest):
// - check_bundle never fails with a Status (the key list is valid, no MAC key is given): every bad bundle is
//   a BundleCheck with ok == false, a documented reason and a detail.
// - Trusted keys only add checks: ok with the key implies ok without keys, a bundle refused without keys is
//   refused with the key (for the same reason or one about keys), and one accepted only without keys is
//   refused for a reason about keys (signature_invalid, untrusted_key, origin_mismatch).
// - ok implies that the bundle (without one final LF) is canonical JSON: nlohmann parses it and
//   jcs::serialize gives back exactly its bytes, and it has exactly the members of its kind.
// - ok for an inclusion bundle implies, re-checked here from the parsed pieces: the record is a valid record
//   of the log the checkpoint's origin names, seq < tree size, the proof hashes are 64 lowercase hex, and
//   merkle::verify_inclusion holds for SHA-256(0x00 || record), as does an independent implementation of RFC
//   9162 §2.1.3.2 in this file; with the key, the checkpoint note is accepted by verify_note and its origin is
//   "<that key's name>/<log_id>".
// - ok for a consistency bundle implies: both notes are checkpoints of the same origin
//   "<key name>/<log_id>", old size <= new size and merkle::verify_consistency holds; with the key, both notes
//   are accepted by verify_note.
// - The reported seq, log_id, origin and sizes are those of the parsed pieces.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#define FA_FUZZ_TARGET "fuzz_bundle"
#include "fuzz_check.hpp"
#include "fuzz_fixed_key.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/proof_bundle.hpp"
#include "fooocus_audit/record.hpp"
#include "fooocus_audit/signed_note.hpp"

namespace fa = fooocus_audit;
namespace note = fooocus_audit::note;

namespace {

const note::VerifierKey& trusted_key() {
  static const note::VerifierKey key = [] {
    fa::Result<note::SigningKey> k = note::SigningKey::from_seed(fa_fuzz::kKeyName, fa_fuzz::key_seed());
    if (!k) {
      std::fprintf(stderr, "fuzz_bundle: from_seed: %s\n", k.status().message().c_str());
      std::abort();
    }
    return k->verifier();
  }();
  return key;
}

bool documented_reason(const std::string& r) {
  static const char* const kReasons[] = {"bad_json",          "bad_bundle",        "record_invalid",
                                         "checkpoint_invalid", "signature_invalid", "untrusted_key",
                                         "origin_mismatch",    "inclusion_invalid", "consistency_invalid",
                                         "mac_missing",        "mac_invalid"};
  for (const char* k : kReasons)
    if (r == k) return true;
  return false;
}

bool key_reason(const std::string& r) {
  return r == "signature_invalid" || r == "untrusted_key" || r == "origin_mismatch";
}

// SHA-256(0x00 || data), computed here rather than by record::chain_hash.
fa::Hash leaf_of(std::string_view data) {
  fa::detail::Sha256 h;
  const std::uint8_t zero = 0x00;
  h.update(&zero, 1);
  h.update(data);
  return h.final();
}

// RFC 9162 §2.1.3.2, written out independently of merkle-inl.hpp.
bool rfc9162_inclusion(const fa::Hash& leaf, std::uint64_t index, std::uint64_t size,
                       const std::vector<fa::Hash>& proof, const fa::Hash& root) {
  if (index >= size) return false;
  std::uint64_t fn = index, sn = size - 1;
  fa::Hash r = leaf;
  for (const fa::Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = fa::merkle::node_hash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = fa::merkle::node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

struct ParsedNote {
  note::Checkpoint body;
  bool accepted = false;  ///< verify_note with the trusted key accepts it
};

ParsedNote parse_checkpoint_note(const nlohmann::json& member, std::string_view input) {
  CHECK(member.is_string());
  const std::string& text = member.get_ref<const std::string&>();
  CHECK(text.size() <= note::kMaxNoteBytes);
  fa::Result<note::Note> n = note::parse_note(text);
  CHECK(n.ok());
  fa::Result<note::Checkpoint> cp = note::parse_checkpoint(n->text);
  CHECK(cp.ok());
  fa::Result<note::NoteVerification> v = note::verify_note(text, {trusted_key()});
  CHECK(v.ok());
  return {cp.value(), v->accepted()};
}

std::vector<fa::Hash> parse_proof(const nlohmann::json& a, std::size_t max, std::string_view input) {
  CHECK(a.is_array() && a.size() <= max);
  std::vector<fa::Hash> out;
  for (const nlohmann::json& h : a) {
    CHECK(h.is_string());
    const std::string& s = h.get_ref<const std::string&>();
    fa::Hash x{};
    CHECK(s.size() == 64 && fa::detail::parse_hash_hex(s, &x));
    CHECK(fa::detail::to_hex(x) == s);
    out.push_back(x);
  }
  return out;
}

// "<name>/<log_id>": the log id after the last "/", a valid key name before it.
bool origin_is(const std::string& origin, std::string_view name, std::string_view log_id) {
  return origin.size() == name.size() + 1 + log_id.size() && origin.compare(0, name.size(), name) == 0 &&
         origin[name.size()] == '/' && origin.compare(name.size() + 1, log_id.size(), log_id) == 0;
}

fa::BundleCheck run_check(std::string_view input, const std::vector<note::VerifierKey>& keys) {
  fa::Result<fa::BundleCheck> r = fa::check_bundle(input, keys);
  if (!r) {
    std::fprintf(stderr, "check_bundle failed: %s\n", r.status().message().c_str());
    fa_fuzz::fail(FA_FUZZ_TARGET, "check_bundle returned an error for a valid key list", input);
  }
  const fa::BundleCheck& c = r.value();
  if (c.ok) {
    CHECK(c.reason.empty());
    CHECK(c.kind == "inclusion" || c.kind == "consistency");
    CHECK(!c.checked.empty());
  } else {
    CHECK(documented_reason(c.reason));
    CHECK(!c.detail.empty());
  }
  return c;
}

void recheck_ok(const fa::BundleCheck& c, bool keyed, std::string_view input) {
  std::string_view text = input;
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  // Canonical JSON, by nlohmann and jcs::serialize rather than jcs::scan_object.
  const nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  CHECK(!j.is_discarded() && j.is_object());
  std::string canonical;
  try {
    canonical = fa::jcs::serialize(j);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "jcs::serialize threw: %s\n", e.what());
    fa_fuzz::fail(FA_FUZZ_TARGET, "an accepted bundle cannot be serialized", input);
  }
  CHECK(canonical == text);
  CHECK(j.contains("bundle") && j["bundle"].is_string());
  const std::string& kind = j["bundle"].get_ref<const std::string&>();

  if (c.kind == "inclusion") {
    CHECK(kind == fa::kInclusionBundle);
    CHECK(j.size() == 4 && j.contains("checkpoint") && j.contains("proof") && j.contains("record"));
    CHECK(j["record"].is_string());
    const std::string& rec = j["record"].get_ref<const std::string&>();
    CHECK(rec.size() <= fa::record::kMaxRecordBytes);
    fa::record::View v;
    CHECK(fa::record::parse(rec, &v));
    CHECK(fa::record::valid_log_id(v.log_id));
    const ParsedNote cp = parse_checkpoint_note(j["checkpoint"], input);
    const std::vector<fa::Hash> proof = parse_proof(j["proof"], fa::merkle::kMaxInclusionProof, input);
    CHECK(c.seq == v.seq && c.log_id == v.log_id && c.origin == cp.body.origin && c.tree_size == cp.body.size);
    CHECK(v.seq < cp.body.size);
    const std::size_t slash = cp.body.origin.rfind('/');
    CHECK(slash != std::string::npos && slash > 0);
    CHECK(note::valid_key_name(std::string_view(cp.body.origin).substr(0, slash)));
    CHECK(cp.body.origin.substr(slash + 1) == v.log_id);
    const fa::Hash leaf = leaf_of(rec);
    CHECK(leaf == fa::record::chain_hash(rec));
    CHECK(fa::merkle::verify_inclusion(leaf, v.seq, cp.body.size, proof, cp.body.root));
    CHECK(rfc9162_inclusion(leaf, v.seq, cp.body.size, proof, cp.body.root));
    fa::Result<fa::Hash> root = fa::merkle::root_from_inclusion(leaf, v.seq, cp.body.size, proof);
    CHECK(root.ok() && root.value() == cp.body.root);
    if (keyed) {
      CHECK(cp.accepted);
      CHECK(origin_is(cp.body.origin, trusted_key().name, v.log_id));
      CHECK(c.signed_by == std::vector<std::string>{note::key_label(trusted_key().name, trusted_key().id)});
    }
    return;
  }

  CHECK(c.kind == "consistency");
  CHECK(kind == fa::kConsistencyBundle);
  CHECK(j.size() == 4 && j.contains("old") && j.contains("new") && j.contains("proof"));
  const ParsedNote old_cp = parse_checkpoint_note(j["old"], input);
  const ParsedNote new_cp = parse_checkpoint_note(j["new"], input);
  const std::vector<fa::Hash> proof = parse_proof(j["proof"], fa::merkle::kMaxConsistencyProof, input);
  CHECK(old_cp.body.origin == new_cp.body.origin);
  CHECK(c.origin == new_cp.body.origin && c.old_size == old_cp.body.size && c.tree_size == new_cp.body.size);
  const std::size_t slash = new_cp.body.origin.rfind('/');
  CHECK(slash != std::string::npos && slash > 0);
  CHECK(note::valid_key_name(std::string_view(new_cp.body.origin).substr(0, slash)));
  CHECK(fa::record::valid_log_id(new_cp.body.origin.substr(slash + 1)));
  CHECK(c.log_id == new_cp.body.origin.substr(slash + 1));
  CHECK(old_cp.body.size <= new_cp.body.size);
  CHECK(fa::merkle::verify_consistency(old_cp.body.size, new_cp.body.size, old_cp.body.root, new_cp.body.root,
                                       proof));
  if (old_cp.body.size == new_cp.body.size) CHECK(proof.empty() && old_cp.body.root == new_cp.body.root);
  if (keyed) {
    CHECK(old_cp.accepted && new_cp.accepted);
    CHECK(origin_is(new_cp.body.origin, trusted_key().name, c.log_id));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)trusted_key();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const fa::BundleCheck with_key = run_check(input, {trusted_key()});
  const fa::BundleCheck without = run_check(input, {});
  CHECK(with_key.kind == without.kind);
  if (with_key.ok) CHECK(without.ok);
  // With the key a note's signature is checked before its origin, and the old note before the new one, so a
  // bundle refused without keys may be refused with the key for a reason about keys instead.
  if (!without.ok) CHECK(!with_key.ok && (with_key.reason == without.reason || key_reason(with_key.reason)));
  if (without.ok && !with_key.ok) CHECK(key_reason(with_key.reason));
  if (with_key.ok) recheck_ok(with_key, /*keyed=*/true, input);
  if (without.ok) recheck_ok(without, /*keyed=*/false, input);
  return 0;
}
