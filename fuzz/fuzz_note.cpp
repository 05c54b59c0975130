// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: signed notes, checkpoints, key strings and anchor files (signed_note.hpp, anchor.hpp) on
// arbitrary bytes. The whole input goes to every parser.
//
// Invariants (any violation aborts; ASan/UBSan and LeakSanitizer catch the rest):
// - parse_note either refuses with invalid_argument and a message, or returns a note whose text is a valid
//   note text and whose 1..kMaxSignatures signatures have valid key names; format_note gives the input back
//   byte for byte, and parse_note of that gives the same Note.
// - verify_note against the fixed trusted key (fuzz_fixed_key.hpp) fails exactly when parse_note does, and
//   agrees with an independent oracle: the first signature line naming the trusted key (name and ID) decides;
//   it verifies only when the text is kSignedBody, the one text that key signed, and the signature is the one
//   made at startup (Ed25519 signatures are not malleable in OpenSSL: S < L and R is compared as encoded).
//   In particular no other text ever verifies. unknown_signers lists, once each, the other signers up to a
//   failing trusted signature. Without trusted keys nothing verifies and nothing fails.
// - parse_checkpoint of the whole input (and of a parsed note's text), when it succeeds, formats back to
//   exactly that body and reparses to the same Checkpoint.
// - parse_verifier_key, when it succeeds, gives a key whose text() is the input and whose ID matches;
//   SigningKey::parse, when it succeeds, gives a key whose text() is the input (without one final LF) and
//   that signs notes its own verifier key accepts.
// - Anchor::parse, CheckpointAnchor::parse and AnchorSet::parse refuse with invalid_argument or return
//   anchors whose to_json() parses back to the same anchors.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#define FA_FUZZ_TARGET "fuzz_note"
#include "fuzz_check.hpp"
#include "fuzz_fixed_key.hpp"
#include "fooocus_audit/anchor.hpp"
#include "fooocus_audit/signed_note.hpp"

namespace fa = fooocus_audit;
namespace note = fooocus_audit::note;

namespace {

struct Fixed {
  note::VerifierKey key;  ///< the trusted key
  std::string signature;  ///< its signature of kSignedBody (64 raw bytes)
};

const Fixed& fixed() {
  static const Fixed f = [] {
    Fixed out;
    fa::Result<note::SigningKey> k = note::SigningKey::from_seed(fa_fuzz::kKeyName, fa_fuzz::key_seed());
    if (!k) {
      std::fprintf(stderr, "fuzz_note: from_seed: %s\n", k.status().message().c_str());
      std::abort();
    }
    out.key = k->verifier();
    fa::Result<std::string> signed_note = note::sign_note(fa_fuzz::kSignedBody, k.value());
    fa::Result<note::Note> n = signed_note ? note::parse_note(signed_note.value()) : signed_note.status();
    if (!n || n->signatures.size() != 1 || n->text != fa_fuzz::kSignedBody) {
      std::fprintf(stderr, "fuzz_note: cannot sign the fixed body\n");
      std::abort();
    }
    out.signature = n->signatures[0].signature;
    return out;
  }();
  return f;
}

bool same_note(const note::Note& a, const note::Note& b) {
  if (a.text != b.text || a.signatures.size() != b.signatures.size()) return false;
  for (std::size_t i = 0; i < a.signatures.size(); ++i)
    if (a.signatures[i].name != b.signatures[i].name || a.signatures[i].id != b.signatures[i].id ||
        a.signatures[i].signature != b.signatures[i].signature)
      return false;
  return true;
}

bool same_checkpoint(const note::Checkpoint& a, const note::Checkpoint& b) {
  return a.origin == b.origin && a.size == b.size && a.root == b.root && a.extensions == b.extensions;
}

void add_once(std::vector<std::string>& list, std::string item) {
  for (const std::string& s : list)
    if (s == item) return;
  list.push_back(std::move(item));
}

// A checkpoint body that parses formats back to exactly its bytes.
void check_checkpoint_body(std::string_view body, std::string_view input) {
  fa::Result<note::Checkpoint> c = note::parse_checkpoint(body);
  if (!c) {
    CHECK(c.status().code() == fa::Code::invalid_argument);
    CHECK(!c.status().message().empty());
    return;
  }
  CHECK(note::valid_note_text(body));
  CHECK(!c->origin.empty());
  for (const std::string& ext : c->extensions) CHECK(!ext.empty() && ext.find('\n') == std::string::npos);
  const std::string formatted = note::format_checkpoint(c.value());
  CHECK(formatted == body);
  fa::Result<note::Checkpoint> again = note::parse_checkpoint(formatted);
  CHECK(again.ok());
  CHECK(same_checkpoint(c.value(), again.value()));
}

void check_note(std::string_view input) {
  const Fixed& f = fixed();
  fa::Result<note::Note> n = note::parse_note(input);
  fa::Result<note::NoteVerification> v = note::verify_note(input, {f.key});
  fa::Result<note::NoteVerification> none = note::verify_note(input, {});
  CHECK(n.ok() == v.ok());
  CHECK(n.ok() == none.ok());
  if (!n) {
    CHECK(n.status().code() == fa::Code::invalid_argument);
    CHECK(!n.status().message().empty());
    CHECK(v.status().code() == fa::Code::invalid_argument);
    return;
  }
  CHECK(note::valid_note_text(n->text));
  CHECK(!n->signatures.empty() && n->signatures.size() <= note::kMaxSignatures);
  for (const note::NoteSignature& s : n->signatures) {
    CHECK(note::valid_key_name(s.name));
    CHECK(!s.signature.empty());
  }
  const std::string formatted = note::format_note(n.value());
  CHECK(formatted == input);
  fa::Result<note::Note> again = note::parse_note(formatted);
  CHECK(again.ok());
  CHECK(same_note(n.value(), again.value()));

  // The oracle: what verify_note must have found with the fixed key trusted.
  note::NoteVerification want;
  for (const note::NoteSignature& s : n->signatures) {
    if (s.name != f.key.name || s.id != f.key.id) {
      add_once(want.unknown_signers, note::key_label(s.name, s.id));
      continue;
    }
    if (!want.verified_by.empty()) continue;  // one verification per trusted key
    if (n->text == fa_fuzz::kSignedBody && s.signature == f.signature) {
      want.verified_by.push_back(f.key.text());
    } else {
      want.bad_signature = true;
      break;
    }
  }
  // The property that matters most, stated on its own: only the signed text verifies.
  if (!v->verified_by.empty()) CHECK(n->text == fa_fuzz::kSignedBody);
  if (v->accepted()) CHECK(n->text == fa_fuzz::kSignedBody);
  CHECK(v->verified_by == want.verified_by);
  CHECK(v->bad_signature == want.bad_signature);
  CHECK(v->unknown_signers == want.unknown_signers);
  CHECK(v->accepted() == (!want.verified_by.empty() && !want.bad_signature));

  // Without trusted keys every signer is unknown and nothing is accepted.
  CHECK(none->verified_by.empty() && !none->bad_signature && !none->accepted());
  std::vector<std::string> all;
  for (const note::NoteSignature& s : n->signatures) add_once(all, note::key_label(s.name, s.id));
  CHECK(none->unknown_signers == all);

  check_checkpoint_body(n->text, input);
}

void check_verifier_key(std::string_view input) {
  fa::Result<note::VerifierKey> k = note::parse_verifier_key(input);
  if (!k) {
    CHECK(k.status().code() == fa::Code::invalid_argument);
    CHECK(!k.status().message().empty());
    return;
  }
  CHECK(note::valid_key_name(k->name));
  CHECK(note::ed25519_key_id(k->name, k->public_key) == k->id);
  CHECK(k->text() == input);
}

void check_signing_key(std::string_view input) {
  fa::Result<note::SigningKey> k = note::SigningKey::parse(input);
  if (!k) {
    CHECK(k.status().code() == fa::Code::invalid_argument);
    CHECK(!k.status().message().empty());
    return;
  }
  std::string_view expect = input;
  if (!expect.empty() && expect.back() == '\n') expect.remove_suffix(1);
  std::string text = k->text();
  CHECK(text == expect);
  fa::detail::secure_wipe(text.data(), text.size());
  const note::VerifierKey& vk = k->verifier();
  CHECK(note::valid_key_name(vk.name));
  CHECK(note::ed25519_key_id(vk.name, vk.public_key) == vk.id);
  fa::Result<note::VerifierKey> reparsed = note::parse_verifier_key(vk.text());
  CHECK(reparsed.ok() && reparsed.value() == vk);
  // The only text fuzz_note signs is kSignedBody (also with a key found by the fuzzer).
  fa::Result<std::string> signed_note = note::sign_note(fa_fuzz::kSignedBody, k.value());
  CHECK(signed_note.ok());
  fa::Result<note::NoteVerification> v = note::verify_note(signed_note.value(), {vk});
  CHECK(v.ok() && v->accepted());
}

bool same_anchor(const fa::Anchor& a, const fa::Anchor& b) {
  return a.log_id == b.log_id && a.seq == b.seq && a.head == b.head && a.ts == b.ts;
}

std::string json_or_fail(const fa::Anchor& a, std::string_view input) {
  try {
    return a.to_json();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "Anchor::to_json threw: %s\n", e.what());
    fa_fuzz::fail(FA_FUZZ_TARGET, "a parsed anchor cannot be serialized", input);
  }
}

std::string json_or_fail(const fa::CheckpointAnchor& a, std::string_view input) {
  try {
    return a.to_json();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "CheckpointAnchor::to_json threw: %s\n", e.what());
    fa_fuzz::fail(FA_FUZZ_TARGET, "a parsed checkpoint anchor cannot be serialized", input);
  }
}

void check_head_anchor(const fa::Anchor& a, std::string_view input) {
  fa::Result<fa::Anchor> back = fa::Anchor::parse(json_or_fail(a, input));
  CHECK(back.ok());
  CHECK(same_anchor(a, back.value()));
}

void check_checkpoint_anchor(const fa::CheckpointAnchor& a, std::string_view input) {
  CHECK(!a.note.empty() && a.note.size() <= note::kMaxNoteBytes);
  fa::Result<fa::CheckpointAnchor> back = fa::CheckpointAnchor::parse(json_or_fail(a, input));
  CHECK(back.ok());
  CHECK(back->log_id == a.log_id && back->note == a.note);
}

void check_anchors(std::string_view input) {
  if (fa::Result<fa::Anchor> a = fa::Anchor::parse(input); a) {
    check_head_anchor(a.value(), input);
  } else {
    CHECK(a.status().code() == fa::Code::invalid_argument);
  }
  if (fa::Result<fa::CheckpointAnchor> c = fa::CheckpointAnchor::parse(input); c) {
    check_checkpoint_anchor(c.value(), input);
  } else {
    CHECK(c.status().code() == fa::Code::invalid_argument);
  }
  fa::Result<fa::AnchorSet> set = fa::AnchorSet::parse(input);
  if (!set) {
    CHECK(set.status().code() == fa::Code::invalid_argument);
    CHECK(!set.status().message().empty());
    return;
  }
  CHECK(!set->heads.empty() || !set->checkpoints.empty());
  std::string rebuilt;
  for (const fa::Anchor& a : set->heads) {
    check_head_anchor(a, input);
    rebuilt.append(json_or_fail(a, input)).push_back('\n');
  }
  for (const fa::CheckpointAnchor& c : set->checkpoints) {
    check_checkpoint_anchor(c, input);
    rebuilt.append(json_or_fail(c, input)).push_back('\n');
  }
  fa::Result<fa::AnchorSet> again = fa::AnchorSet::parse(rebuilt);
  CHECK(again.ok());
  CHECK(again->heads.size() == set->heads.size() && again->checkpoints.size() == set->checkpoints.size());
  for (std::size_t i = 0; i < set->heads.size(); ++i) CHECK(same_anchor(again->heads[i], set->heads[i]));
  for (std::size_t i = 0; i < set->checkpoints.size(); ++i)
    CHECK(again->checkpoints[i].log_id == set->checkpoints[i].log_id &&
          again->checkpoints[i].note == set->checkpoints[i].note);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fixed();  // sign the fixed body once, before the first input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_note(input);
  check_checkpoint_body(input, input);
  check_verifier_key(input);
  check_signing_key(input);
  check_anchors(input);
  return 0;
}
