// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/signed_note.hpp"
#include "support/files.hpp"

namespace fa = fooocus_audit;
namespace note = fooocus_audit::note;
using fa::Code;

namespace {

// Known answers from golang.org/x/mod/sumdb/note (note_test.go and the package documentation).
const std::string kPeterVkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const std::string kPeterSkey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const std::string kEnochVkey = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const std::string kGoText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
const std::string kPeterSig =
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const std::string kEnochSig =
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

// The examples of c2sp.org/signed-note and c2sp.org/tlog-checkpoint (no public keys are published for them).
const std::string kC2spNote =
    "Ognuno sta solo sul cuor della terra\n"
    "trafitto da un raggio di sole:\n"
    "\n"
    "ed è subito sera.\n"
    "\n"
    "— quasimodo.example/salvatore "
    "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
const std::string kC2spCheckpoint =
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    "\n"
    "— example.com/behind-the-sofa "
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

std::string hex_bytes(std::string_view s) {
  return fa::detail::to_hex(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

note::VerifierKey vkey(const std::string& text) {
  auto k = note::parse_verifier_key(text);
  REQUIRE(k.ok());
  return k.value();
}

note::SigningKey new_key(const std::string& name) {
  auto k = note::SigningKey::generate(name);
  REQUIRE(k.ok());
  return std::move(k).value();
}

}  // namespace

TEST_CASE("note: base64 matches RFC 4648 and decodes strictly") {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}, {"\xff\xfe\xfd", "//79"},
  };
  for (const auto& [raw, b64] : vectors) {
    CHECK(note::base64_encode(raw) == b64);
    std::string out = "junk";
    CHECK(note::base64_decode(b64, &out));
    CHECK(out == raw);
  }
  std::mt19937 rng(7);
  for (std::size_t n = 0; n < 100; ++n) {
    std::string raw(n, '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    std::string out;
    REQUIRE(note::base64_decode(note::base64_encode(raw), &out));
    CHECK(out == raw);
  }
  std::string out;
  for (const char* badv : {"Zg=", "Zg", "Z", "Zh==", "Zm9=", "Zg==Zg==", "Z===", "====", "Zm9v=", "Zm9v\n", " Zm9v",
                           "Zm9 v", "Zm-v", "Zm_v", "Zm9v====", "Z=g=", "Zm9vYg=\n"})
    CHECK_FALSE(note::base64_decode(badv, &out));
}

TEST_CASE("note: key names follow the spec (no Unicode spaces, no plus, valid UTF-8)") {
  for (const char* good : {"PeterNeumann", "example.com/log42", "a", "ünïcödé/名前", "x-y_z.~!@#$%^&*()"})
    CHECK(note::valid_key_name(good));
  for (const char* badn : {"", "a b", "a+b", "+", "a\tb", "a\nb", "a\rb", "a\x01z", "a\xC2\xA0z" /* NBSP */,
                           "a\xE3\x80\x80z" /* ideographic space */, "a\xE2\x80\x89z" /* thin space */,
                           "a\xC2\x85z" /* NEL */, "\xff", "\xC0\xAF" /* overlong */, "\xED\xA0\x80" /* surrogate */,
                           "\xE2\x80" /* truncated */})
    CHECK_FALSE(note::valid_key_name(badn));
}

TEST_CASE("note: Go's verifier key example parses, pins its key ID, and every mangling is refused") {
  const note::VerifierKey peter = vkey(kPeterVkey);
  CHECK(peter.name == "PeterNeumann");
  CHECK(peter.id == 0xc74f20a3u);
  CHECK(note::ed25519_key_id(peter.name, peter.public_key) == 0xc74f20a3u);
  CHECK(peter.text() == kPeterVkey);
  CHECK(vkey(kEnochVkey).id == 0xaf0cfe78u);

  // As Go's TestNewVerifier: every proper substring and every single-byte change fails.
  for (std::size_t i = 0; i <= kPeterVkey.size(); ++i)
    for (std::size_t j = i + 1; j <= kPeterVkey.size(); ++j)
      if (i != 0 || j != kPeterVkey.size()) CHECK_FALSE(note::parse_verifier_key(kPeterVkey.substr(i, j - i)).ok());
  for (std::size_t i = 0; i < kPeterVkey.size(); ++i) {
    std::string k = kPeterVkey;
    ++k[i];
    CHECK_FALSE(note::parse_verifier_key(k).ok());
  }
  // Wrong key length and unknown algorithm, each with a matching key hash (from Go's tests).
  CHECK_FALSE(note::parse_verifier_key("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==").ok());
  auto alg = note::parse_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  REQUIRE_FALSE(alg.ok());
  CHECK(alg.status().code() == Code::invalid_argument);
  CHECK_THAT(alg.status().message(), Catch::Contains("unsupported key type"));
  // Uppercase hex, surrounding whitespace, a trailing newline.
  CHECK_FALSE(note::parse_verifier_key("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").ok());
  CHECK_FALSE(note::parse_verifier_key(kPeterVkey + "\n").ok());
  CHECK_FALSE(note::parse_verifier_key(" " + kPeterVkey).ok());
  auto wrong_id = note::parse_verifier_key("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  REQUIRE_FALSE(wrong_id.ok());
  CHECK_THAT(wrong_id.status().message(), Catch::Contains("does not match"));
}

TEST_CASE("note: Go's signing key example signs Go's note byte for byte") {
  auto key = note::SigningKey::parse(kPeterSkey);
  REQUIRE(key.ok());
  CHECK(key->verifier().text() == kPeterVkey);
  std::string text = key->text();
  CHECK(text == kPeterSkey);
  fa::detail::secure_wipe(text.data(), text.size());
  CHECK(note::SigningKey::parse(kPeterSkey + "\n").ok());

  auto signed_note = note::sign_note(kGoText, key.value());
  REQUIRE(signed_note.ok());
  CHECK(signed_note.value() == kGoText + "\n" + kPeterSig);

  // As Go's TestNewSigner: proper substrings and single-byte changes fail, and no error quotes the key.
  const std::string secret = kPeterSkey.substr(kPeterSkey.rfind('+') + 1);
  for (std::size_t i = 0; i <= kPeterSkey.size(); ++i)
    for (std::size_t j = i + 1; j <= kPeterSkey.size(); ++j)
      if (i != 0 || j != kPeterSkey.size()) {
        auto r = note::SigningKey::parse(kPeterSkey.substr(i, j - i));
        CHECK_FALSE(r.ok());
        if (!r.ok()) CHECK(r.status().message().find(secret.substr(0, 8)) == std::string::npos);
      }
  for (std::size_t i = 0; i < kPeterSkey.size(); ++i) {
    std::string k = kPeterSkey;
    ++k[i];
    CHECK_FALSE(note::SigningKey::parse(k).ok());
  }
  CHECK_FALSE(note::SigningKey::parse(kPeterSkey + "\n\n").ok());
  CHECK_FALSE(note::SigningKey::parse(kPeterSkey + "\r\n").ok());
  CHECK_FALSE(note::SigningKey::parse(kPeterVkey).ok());
}

TEST_CASE("note: Ed25519 matches RFC 8032 test 1") {
  std::array<std::uint8_t, 32> seed{};
  REQUIRE(fa::detail::parse_hash_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", &seed));
  auto key = note::SigningKey::from_seed("rfc8032.example/test1", seed);
  REQUIRE(key.ok());
  CHECK(fa::detail::to_hex(key->verifier().public_key) ==
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = key->sign("");
  REQUIRE(sig.ok());
  CHECK(hex_bytes(sig.value()) ==
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe"
        "24655141438e7a100b");
  CHECK_FALSE(note::SigningKey::from_seed("bad name", seed).ok());
  CHECK_FALSE(note::SigningKey::generate("a+b").ok());
}

TEST_CASE("note: Go's doubly signed note verifies, and unknown signers are reported, not trusted") {
  const note::VerifierKey peter = vkey(kPeterVkey), enoch = vkey(kEnochVkey);
  const std::string msg = kGoText + "\n" + kPeterSig + kEnochSig;

  auto parsed = note::parse_note(msg);
  REQUIRE(parsed.ok());
  CHECK(parsed->text == kGoText);
  REQUIRE(parsed->signatures.size() == 2);
  CHECK(parsed->signatures[0].name == "PeterNeumann");
  CHECK(parsed->signatures[0].id == 0xc74f20a3u);
  CHECK(parsed->signatures[0].signature.size() == 64);
  CHECK(note::format_note(parsed.value()) == msg);

  auto one = note::verify_note(msg, {peter});
  REQUIRE(one.ok());
  CHECK(one->verified_by == std::vector<std::string>{kPeterVkey});
  CHECK(one->unknown_signers == std::vector<std::string>{"EnochRoot+af0cfe78"});
  CHECK_FALSE(one->bad_signature);
  CHECK(one->accepted());

  auto both = note::verify_note(msg, {enoch, peter});
  REQUIRE(both.ok());
  CHECK(both->verified_by == std::vector<std::string>{kPeterVkey, kEnochVkey});
  CHECK(both->unknown_signers.empty());
  CHECK(both->accepted());

  auto none = note::verify_note(msg, {});
  REQUIRE(none.ok());
  CHECK(none->verified_by.empty());
  CHECK(none->unknown_signers.size() == 2);
  CHECK_FALSE(none->accepted());

  // Same name, other ID (or same ID, other name): a different key, ignored.
  note::VerifierKey other_peter = vkey(note::SigningKey::generate("PeterNeumann").value().verifier().text());
  auto other = note::verify_note(msg, {other_peter});
  REQUIRE(other.ok());
  CHECK(other->verified_by.empty());
  CHECK_FALSE(other->bad_signature);

  // Repeated lines are reported once.
  auto dup = note::verify_note(kGoText + "\n" + kPeterSig + kPeterSig + kEnochSig + kEnochSig, {peter});
  REQUIRE(dup.ok());
  CHECK(dup->verified_by.size() == 1);
  CHECK(dup->unknown_signers.size() == 1);

  // An invalid signature by a trusted key (Go's "ABCD" insertion) rejects the note.
  const std::string bad_sig = kPeterSig.substr(0, 60) + "ABCD" + kPeterSig.substr(60);
  auto badv = note::verify_note(kGoText + "\n" + bad_sig + kEnochSig, {peter, enoch});
  REQUIRE(badv.ok());
  CHECK(badv->bad_signature);
  CHECK_FALSE(badv->accepted());
}

TEST_CASE("note: at most 100 signatures") {
  std::string msg = kGoText + "\n";
  for (int i = 0; i < 100; ++i) msg += kPeterSig;
  CHECK(note::parse_note(msg).ok());
  auto r = note::parse_note(msg + kPeterSig);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::invalid_argument);
  CHECK_THAT(r.status().message(), Catch::Contains("more than 100"));
}

TEST_CASE("note: every class of malformed note is refused") {
  const std::string sig_b64 = kPeterSig.substr(kPeterSig.rfind(' ') + 1, kPeterSig.size() - kPeterSig.rfind(' ') - 2);
  const std::vector<std::string> bad_notes = {
      // Go's badMsgs
      kGoText,
      kGoText + "\n",
      kGoText + "\n" + kPeterSig.substr(0, kPeterSig.size() - 1),
      "\x01" + kGoText + "\n" + kPeterSig,
      "\xff" + kGoText + "\n" + kPeterSig,
      kGoText + "\n" + "— Bad Name " + sig_b64,
      kGoText + "\n" + kPeterSig + "Unexpected line.\n",
      // control characters and ill-formed UTF-8 anywhere
      "a\rb\n\n" + kPeterSig,
      "a\tb\n\n" + kPeterSig,
      "a\xC0\xAF\n\n" + kPeterSig,
      kGoText + "\n" + kPeterSig.substr(0, kPeterSig.size() - 1) + "\r\n",
      // signature lines
      kGoText + "\n" + "- PeterNeumann " + sig_b64 + "\n",          // hyphen, not em dash
      kGoText + "\n" + "—PeterNeumann " + sig_b64 + "\n",           // no space after the dash
      kGoText + "\n" + "— PeterNeumann  " + sig_b64 + "\n",         // two spaces
      kGoText + "\n" + "— PeterNeumann" + "\n",                     // no signature
      kGoText + "\n" + "— PeterNeumann \n",                         // empty signature
      kGoText + "\n" + "— Peter+Neumann " + sig_b64 + "\n",         // plus in the name
      kGoText + "\n" + "—  " + sig_b64 + "\n",                      // empty name
      kGoText + "\n" + "— PeterNeumann " + sig_b64 + " \n",         // trailing space
      kGoText + "\n" + "— PeterNeumann AAAAAA==\n",                 // 4 bytes: key ID only
      kGoText + "\n" + "— PeterNeumann x08go/ZJkuBS9UG\n",          // bad base64 length
      kGoText + "\n" + "— PeterNeumann x08go/ZJkuBS9UG/Sf=\n",      // non-canonical padding bits
      kGoText + "\n" + kPeterSig + "\n",                            // blank line at the end
      "\n" + kPeterSig,                                             // no text at all
      std::string(note::kMaxNoteBytes, 'a') + "\n\n" + kPeterSig,  // too large
  };
  for (const std::string& m : bad_notes) {
    auto r = note::parse_note(m);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.status().code() == Code::invalid_argument);
    CHECK_FALSE(note::verify_note(m, {vkey(kPeterVkey)}).ok());
  }
}

TEST_CASE("note: the C2SP examples parse, the last blank line separates text and signatures") {
  auto n = note::parse_note(kC2spNote);
  REQUIRE(n.ok());
  CHECK(n->text == "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n");
  REQUIRE(n->signatures.size() == 1);
  CHECK(n->signatures[0].name == "quasimodo.example/salvatore");
  CHECK(n->signatures[0].signature.size() == 64);
  CHECK(note::format_note(n.value()) == kC2spNote);
  auto v = note::verify_note(kC2spNote, {});
  REQUIRE(v.ok());
  CHECK(v->unknown_signers.size() == 1);
  CHECK_FALSE(v->accepted());

  auto cp_note = note::parse_note(kC2spCheckpoint);
  REQUIRE(cp_note.ok());
  auto cp = note::parse_checkpoint(cp_note->text);
  REQUIRE(cp.ok());
  CHECK(cp->origin == "example.com/behind-the-sofa");
  CHECK(cp->size == 20852163u);
  CHECK(note::base64_encode(cp->root.data(), cp->root.size()) == "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
  CHECK(cp->extensions.empty());
  CHECK(note::format_checkpoint(cp.value()) == cp_note->text);
}

TEST_CASE("note: sign_note and verify_note round trip, tampered text, signature or key ID is refused") {
  const note::SigningKey key = new_key("audit.example/signer");
  const note::VerifierKey trusted = key.verifier();
  const std::string text = "audit.example/signer/0123456789abcdef0123456789abcdef\n42\n" +
                           std::string(44 - 1, 'A') + "=\n";
  auto signed_note = note::sign_note(text, key);
  REQUIRE(signed_note.ok());
  auto ok = note::verify_note(signed_note.value(), {trusted});
  REQUIRE(ok.ok());
  CHECK(ok->accepted());
  CHECK(ok->verified_by == std::vector<std::string>{trusted.text()});

  // Tampered text: the name and ID still match a trusted key, the signature fails.
  std::string t = signed_note.value();
  t[t.find("42")] = '3';
  auto tampered = note::verify_note(t, {trusted});
  REQUIRE(tampered.ok());
  CHECK(tampered->bad_signature);
  CHECK_FALSE(tampered->accepted());

  // Tampered signature bytes.
  auto parsed = note::parse_note(signed_note.value());
  REQUIRE(parsed.ok());
  note::Note n = parsed.value();
  n.signatures[0].signature[10] ^= 0x01;
  auto bad_sig = note::verify_note(note::format_note(n), {trusted});
  REQUIRE(bad_sig.ok());
  CHECK(bad_sig->bad_signature);
  CHECK_FALSE(bad_sig->accepted());

  // Tampered key ID: no longer the trusted key, so the note has no trusted signature.
  n = parsed.value();
  n.signatures[0].id ^= 1;
  auto bad_id = note::verify_note(note::format_note(n), {trusted});
  REQUIRE(bad_id.ok());
  CHECK_FALSE(bad_id->bad_signature);
  CHECK(bad_id->verified_by.empty());
  CHECK(bad_id->unknown_signers == std::vector<std::string>{note::key_label(trusted.name, trusted.id ^ 1)});
  CHECK_FALSE(bad_id->accepted());

  // Texts that cannot be signed.
  for (const std::string& badt : {std::string(), std::string("no newline"), std::string("a\rb\n"),
                                  std::string("\xff\n"), std::string(note::kMaxNoteBytes + 1, '\n')})
    CHECK_FALSE(note::sign_note(badt, key).ok());
}

TEST_CASE("note: add_signature cosigns and replaces the signer's own earlier signature") {
  const note::SigningKey a = new_key("log.example/a"), b = new_key("witness.example/b");
  auto one = note::sign_note("hello\n\nworld\n", a);
  REQUIRE(one.ok());
  auto two = note::add_signature(one.value(), b);
  REQUIRE(two.ok());
  auto v = note::verify_note(two.value(), {a.verifier(), b.verifier()});
  REQUIRE(v.ok());
  CHECK(v->verified_by == std::vector<std::string>{a.verifier().text(), b.verifier().text()});
  CHECK(v->accepted());
  auto again = note::add_signature(two.value(), a);
  REQUIRE(again.ok());
  auto parsed = note::parse_note(again.value());
  REQUIRE(parsed.ok());
  REQUIRE(parsed->signatures.size() == 2);
  CHECK(parsed->signatures[0].name == "witness.example/b");
  CHECK(parsed->signatures[1].name == "log.example/a");
  CHECK_FALSE(note::add_signature("not a note", a).ok());
}

TEST_CASE("note: verify_note refuses an inconsistent trusted key list") {
  note::VerifierKey peter = vkey(kPeterVkey);
  const std::string msg = kGoText + "\n" + kPeterSig;
  note::VerifierKey wrong_id = peter;
  wrong_id.id ^= 1;
  CHECK(note::verify_note(msg, {wrong_id}).status().code() == Code::invalid_argument);
  note::VerifierKey twin = peter;
  twin.public_key[0] ^= 1;
  twin.id = note::ed25519_key_id(twin.name, twin.public_key);
  CHECK(note::verify_note(msg, {peter, twin}).ok());  // different IDs: fine
  CHECK(note::verify_note(msg, {peter, peter}).ok());  // the same key twice is harmless
  note::VerifierKey bad_name = peter;
  bad_name.name = "Peter Neumann";
  CHECK_FALSE(note::verify_note(msg, {bad_name}).ok());
}

TEST_CASE("note: key files are 0600, never overwritten, and refused when group or others can read them") {
  fa_test::TempDir dir("fa_note");
  const note::SigningKey key = new_key("files.example/key");
  const std::string path = dir / "signer.key";
  REQUIRE(key.save(path).ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = note::SigningKey::load(path);
  REQUIRE(loaded.ok());
  CHECK(loaded->verifier() == key.verifier());
  std::string text = key.text();
  CHECK(fa_test::read_bytes(path) == text + "\n");

  auto again = key.save(path);
  REQUIRE_FALSE(again.ok());
  CHECK(again.code() == Code::io_error);
  CHECK(fa_test::read_bytes(path) == text + "\n");

  for (const mode_t mode : {0640, 0604, 0660, 0700 | 0004}) {
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    auto refused = note::SigningKey::load(path);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == Code::invalid_argument);
    CHECK_THAT(refused.status().message(), Catch::Contains("chmod 600"));
    // No key bytes in the message: a 10-character window of the key's base64 (which may itself contain '+', so
    // the window is taken from the end, not after the last '+': a short tail could match the path by chance).
    REQUIRE(text.size() > 40);
    CHECK(refused.status().message().find(text.substr(text.size() - 12, 10)) == std::string::npos);
  }
  REQUIRE(::chmod(path.c_str(), 0400) == 0);
  CHECK(note::SigningKey::load(path).ok());
  fa::detail::secure_wipe(text.data(), text.size());

  CHECK(note::SigningKey::load(dir / "missing.key").status().code() == Code::not_found);
  CHECK(note::SigningKey::load(dir.path()).status().code() == Code::invalid_argument);  // a directory
  fa_test::write_bytes(dir / "junk.key", "PRIVATE+KEY+junk\n");
  CHECK(note::SigningKey::load(dir / "junk.key").status().code() == Code::invalid_argument);
  fa_test::write_bytes(dir / "big.key", std::string(5000, 'A'));
  CHECK(note::SigningKey::load(dir / "big.key").status().code() == Code::invalid_argument);

  // Verifier key files.
  const std::string vpath = dir / "signer.pub";
  REQUIRE(note::save_verifier_key(vpath, key.verifier()).ok());
  CHECK(fa_test::read_bytes(vpath) == key.verifier().text() + "\n");
  REQUIRE(::stat(vpath.c_str(), &st) == 0);
  CHECK((st.st_mode & 0600) == 0600);
  CHECK((st.st_mode & 0133) == 0);
  auto v = note::load_verifier_key(vpath);
  REQUIRE(v.ok());
  CHECK(v.value() == key.verifier());
  CHECK_FALSE(note::save_verifier_key(vpath, key.verifier()).ok());
  fa_test::write_bytes(dir / "bad.pub", kPeterVkey + "\n\n");
  CHECK_FALSE(note::load_verifier_key(dir / "bad.pub").ok());
}

TEST_CASE("note: checkpoint bodies format and parse strictly") {
  note::Checkpoint c;
  c.origin = note::checkpoint_origin("audit.example/signer", "0123456789abcdef0123456789abcdef");
  CHECK(c.origin == "audit.example/signer/0123456789abcdef0123456789abcdef");
  c.size = 7;
  c.root = fa::detail::sha256("root");
  const std::string body = note::format_checkpoint(c);
  CHECK(body == c.origin + "\n7\n" + note::base64_encode(c.root.data(), c.root.size()) + "\n");
  auto back = note::parse_checkpoint(body);
  REQUIRE(back.ok());
  CHECK(back->origin == c.origin);
  CHECK(back->size == 7);
  CHECK(back->root == c.root);

  c.extensions = {"ext one", "— ext two"};
  c.size = 0;
  auto with_ext = note::parse_checkpoint(note::format_checkpoint(c));
  REQUIRE(with_ext.ok());
  CHECK(with_ext->extensions == c.extensions);
  CHECK(with_ext->size == 0);

  const std::string root_b64 = note::base64_encode(c.root.data(), c.root.size());
  auto max = note::parse_checkpoint("o\n18446744073709551615\n" + root_b64 + "\n");
  REQUIRE(max.ok());
  CHECK(max->size == UINT64_MAX);

  const std::vector<std::string> bad_bodies = {
      "",
      "o\n7\n",                                         // two lines
      "o\n7\n" + root_b64,                              // no final newline
      "\n7\n" + root_b64 + "\n",                        // empty origin
      "o\n07\n" + root_b64 + "\n",                      // leading zero
      "o\n00\n" + root_b64 + "\n",
      "o\n+7\n" + root_b64 + "\n",
      "o\n-7\n" + root_b64 + "\n",
      "o\n 7\n" + root_b64 + "\n",
      "o\n7 \n" + root_b64 + "\n",
      "o\n\n" + root_b64 + "\n",                        // empty size
      "o\n0x7\n" + root_b64 + "\n",
      "o\n18446744073709551616\n" + root_b64 + "\n",    // 2^64
      "o\n7\n" + root_b64.substr(0, 40) + "\n",         // short root
      "o\n7\nAAAA" + root_b64 + "\n",                   // long root
      "o\n7\n" + root_b64.substr(0, 42) + "B=\n",       // non-canonical padding bits (32 bytes: 1 pad char)
      "o\n7\n" + root_b64 + "\n\n",                     // empty extension line
      "o\n7\n" + root_b64 + "\nx\r\n",                  // control character
      "o\xff\n7\n" + root_b64 + "\n",                   // ill-formed UTF-8
  };
  for (const std::string& b : bad_bodies) {
    auto r = note::parse_checkpoint(b);
    CHECK_FALSE(r.ok());
    if (!r.ok()) CHECK(r.status().code() == Code::invalid_argument);
  }
}
