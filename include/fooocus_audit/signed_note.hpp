// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file signed_note.hpp
/// C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, their key strings in the format of Go's
/// golang.org/x/mod/sumdb/note, and C2SP tlog-checkpoint bodies (c2sp.org/tlog-checkpoint).
///
/// A signed note is a text followed by a blank line and one or more signature lines:
///
///     <text, ending in "\n">
///     \n
///     — <key name> <base64(4-byte big-endian key ID || signature)>\n     (one line per signature)
///
/// The Ed25519 signature covers exactly the text bytes, including the text's final "\n". The key ID is
/// the first four bytes (big-endian) of SHA-256(key name || 0x0A || 0x01 || 32-byte public key).
///
/// Key strings (one line each):
///   verifier key  `<name>+<8 lowercase hex key ID>+<base64(0x01 || 32-byte public key)>`
///   signing key   `PRIVATE+KEY+<name>+<8 lowercase hex key ID>+<base64(0x01 || 32-byte private seed)>`
///
/// Everything here is a pure function or a value type, except the load/save functions. Functions that return
/// a Result or Status report OpenSSL failures as Code::internal; the others (ed25519_key_id) throw
/// std::runtime_error only if OpenSSL fails. Error messages never contain private key material.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/crypto.hpp"

namespace fooocus_audit {
namespace note {

/// Largest note parse_note accepts and sign_note / add_signature produce (text and signatures together).
inline constexpr std::size_t kMaxNoteBytes = 1u << 20;
/// Most signature lines in one note (C2SP requires accepting at least 16; Go's note package allows 100).
inline constexpr std::size_t kMaxSignatures = 100;
/// Signature type byte of Ed25519 keys (C2SP signed-note "Signature types").
inline constexpr std::uint8_t kAlgEd25519 = 0x01;
inline constexpr std::size_t kEd25519SignatureBytes = 64;

using PublicKey = std::array<std::uint8_t, 32>;

// ------------------------------------------------------------------------------------------------------------
// Base64 (RFC 4648 §4: standard alphabet, with padding)

/// Standard base64 with "=" padding.
std::string base64_encode(const void* data, std::size_t n);
inline std::string base64_encode(std::string_view bytes) { return base64_encode(bytes.data(), bytes.size()); }

/// Strict standard base64: length a multiple of 4, only the standard alphabet, "=" only as the final one or
/// two characters, and the unused bits before the padding zero (so each byte string has exactly one
/// encoding). No whitespace. On success replaces *out with the bytes and returns true; on failure returns
/// false and leaves *out unspecified. "" decodes to "".
bool base64_decode(std::string_view text, std::string* out);

// ------------------------------------------------------------------------------------------------------------
// Keys

/// A key name: non-empty, valid UTF-8, no Unicode space (Go's unicode.IsSpace, which includes \t \n \v \f \r),
/// no "+" and no other ASCII control character (a signed note cannot carry those anyway).
bool valid_key_name(std::string_view name) noexcept;

/// Ed25519 key ID: SHA-256(name || 0x0A || 0x01 || public_key)[:4] read big-endian.
std::uint32_t ed25519_key_id(std::string_view name, const PublicKey& public_key);

/// "name+hhhhhhhh": how a key is named in messages and in NoteVerification::unknown_signers.
std::string key_label(std::string_view name, std::uint32_t id);

/// A trusted Ed25519 public key with its name. A value type.
struct VerifierKey {
  std::string name;
  std::uint32_t id = 0;
  PublicKey public_key{};

  /// `<name>+<8 lowercase hex id>+<base64(0x01 || public_key)>`, no trailing newline.
  std::string text() const;
  friend bool operator==(const VerifierKey& a, const VerifierKey& b) {
    return a.name == b.name && a.id == b.id && a.public_key == b.public_key;
  }
  friend bool operator!=(const VerifierKey& a, const VerifierKey& b) { return !(a == b); }
};

/// Parses a verifier key string (no surrounding whitespace). The key ID must be 8 lowercase hex digits and
/// match the name and public key; the key must be Ed25519 (type byte 0x01, 32 bytes). Errors are
/// Code::invalid_argument saying which part is wrong.
Result<VerifierKey> parse_verifier_key(std::string_view text);

/// Reads a verifier key file: the key string, optionally followed by one "\n".
Result<VerifierKey> load_verifier_key(const std::string& path);
/// Creates `path` (mode 0644 before the umask) holding key.text() + "\n", fsyncs it and its directory.
/// Refuses to replace an existing file (Code::io_error with EEXIST's message).
Status save_verifier_key(const std::string& path, const VerifierKey& key);

/// An Ed25519 signing key: the 32-byte private seed (RFC 8032) and the name it signs under.
///
/// Move-only. The seed is wiped (detail::secure_wipe) when the object is destroyed or moved from, and every
/// temporary copy made by the member functions is wiped too. const member functions may be called from
/// several threads at once.
class SigningKey {
 public:
  ~SigningKey();
  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;

  /// A new key from 32 random bytes (RAND_bytes). invalid_argument for a bad name; internal if OpenSSL fails.
  static Result<SigningKey> generate(std::string_view name);
  /// The key for a given seed (for known-answer tests and key import). The caller wipes its seed.
  static Result<SigningKey> from_seed(std::string_view name, const std::array<std::uint8_t, 32>& seed);
  /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`, optionally followed by one "\n". The key
  /// ID must match the public key derived from the seed. Errors (invalid_argument) never quote the input.
  static Result<SigningKey> parse(std::string_view text);
  /// Reads a key file written by save() (or by Go's note.GenerateKey plus a newline). Refuses, with
  /// Code::invalid_argument and a message that says to chmod 600, a file whose mode grants group or others
  /// any access; refuses anything but a regular file. The read buffer is wiped.
  static Result<SigningKey> load(const std::string& path);
  /// Creates `path` with O_CREAT|O_EXCL, mode 0600, writes text() + "\n", fsyncs the file and its directory.
  /// Never replaces an existing file (Code::io_error, "File exists").
  Status save(const std::string& path) const;

  /// The signing key string. It is the secret itself: the caller must detail::secure_wipe it after use.
  std::string text() const;
  const VerifierKey& verifier() const noexcept { return verifier_; }
  const std::string& name() const noexcept { return verifier_.name; }
  /// Ed25519 signature (64 raw bytes) of message. internal if OpenSSL fails.
  Result<std::string> sign(std::string_view message) const;

 private:
  SigningKey() = default;
  std::array<std::uint8_t, 32> seed_{};
  VerifierKey verifier_;
};

// ------------------------------------------------------------------------------------------------------------
// Notes

/// One signature line of a note.
struct NoteSignature {
  std::string name;       ///< key name
  std::uint32_t id = 0;   ///< key ID (first 4 decoded bytes, big-endian)
  std::string signature;  ///< the raw signature bytes after the key ID (64 for Ed25519)
};

struct Note {
  std::string text;  ///< the signed text, ending in "\n" (without the separating blank line)
  std::vector<NoteSignature> signatures;
};

/// True when text can be the text of a note: 1..kMaxNoteBytes bytes, valid UTF-8, ends in "\n", and no ASCII
/// control character other than "\n".
bool valid_note_text(std::string_view text) noexcept;

/// Parses a signed note strictly: at most kMaxNoteBytes, valid UTF-8 without ASCII control characters other
/// than "\n"; the text ends at the last blank line; then 1..kMaxSignatures lines "— <name> <base64>\n" with a
/// valid key name and a strict base64 value of at least 5 bytes. Signatures are not verified (verify_note
/// does). Errors are Code::invalid_argument naming the offending line.
Result<Note> parse_note(std::string_view note);

/// The note's bytes: text + "\n" + one line per signature, in order. Does not validate: for a Note that
/// parse_note returned, parse_note(format_note(n)) gives n back.
std::string format_note(const Note& note);

/// Signs text (valid_note_text) with key and returns the complete note with that single signature.
Result<std::string> sign_note(std::string_view text, const SigningKey& key);

/// Cosigning: parses note, removes any signature by the same key (name and ID), and appends key's signature
/// of the note's text. The other signatures are kept as they are, unverified.
Result<std::string> add_signature(std::string_view note, const SigningKey& key);

/// What verify_note found. A caller MUST accept a note only when verified_by is non-empty and bad_signature
/// is false (C2SP: no verified trusted signature means reject; a failing trusted signature means reject the
/// whole note). accepted() says exactly that.
struct NoteVerification {
  std::vector<std::string> verified_by;      ///< VerifierKey::text() of trusted keys whose signature verified
  std::vector<std::string> unknown_signers;  ///< key_label() of signatures with no trusted key (ignored)
  bool bad_signature = false;                ///< a trusted key's name and ID matched but its signature failed

  bool accepted() const noexcept { return !verified_by.empty() && !bad_signature; }
};

/// Parses note (as parse_note) and checks every signature whose name and key ID match a trusted key. Repeated
/// entries in the result lists are reported once. Errors: a malformed note, or a trusted list that is
/// invalid (a bad name, an ID that does not match its key, or two different keys with one name and ID), all
/// Code::invalid_argument. A note that parses but is not signed by a trusted key is not an error: check
/// NoteVerification::accepted().
Result<NoteVerification> verify_note(std::string_view note, const std::vector<VerifierKey>& trusted);

// ------------------------------------------------------------------------------------------------------------
// Checkpoints (c2sp.org/tlog-checkpoint)

/// A transparency-log checkpoint body: origin, tree size, RFC 6962 root hash, optional extension lines.
struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  ///< opaque non-empty lines, without their "\n"
};

/// "<origin>\n<size in decimal>\n<base64(root)>\n" followed by "<extension>\n" for each extension. Does not
/// validate: for a Checkpoint that parse_checkpoint returned, parse_checkpoint(format_checkpoint(c)) == c.
std::string format_checkpoint(const Checkpoint& checkpoint);

/// Parses a checkpoint body (a note text) strictly: valid note text (valid_note_text); a non-empty origin;
/// the size in decimal without leading zeros (except "0") that fits in 64 bits; the root in strict base64 of
/// exactly 32 bytes; extension lines non-empty. Errors are Code::invalid_argument.
Result<Checkpoint> parse_checkpoint(std::string_view body);

/// The origin of this project's checkpoints: "<key name>/<log_id>".
std::string checkpoint_origin(std::string_view key_name, std::string_view log_id);

}  // namespace note
}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/signed_note-inl.hpp"
#endif
