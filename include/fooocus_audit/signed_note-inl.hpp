// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/signed_note.hpp"
#endif

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <cerrno>
#include <algorithm>
#include <charconv>
#include <cstring>
#include <exception>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "fooocus_audit/detail/segment_store.hpp"

namespace fooocus_audit {
namespace note {

namespace note_impl {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::string_view kPrivatePrefix = "PRIVATE+KEY+";
constexpr std::size_t kMaxKeyFileBytes = 4096;

/// Wipes a string's whole buffer (also the bytes past size() left by earlier, longer contents), then clears it.
inline void wipe_string(std::string& s) noexcept {
  s.resize(s.capacity());  // cannot allocate: capacity is already there
  detail::secure_wipe(s.data(), s.size());
  s.clear();
}

/// Next code point of s at i (advancing i), or -1 for ill-formed UTF-8 (truncated, overlong, surrogate,
/// beyond U+10FFFF), as Go's utf8.DecodeRune reports RuneError.
inline std::int32_t next_code_point(std::string_view s, std::size_t& i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  std::size_t len = 0;
  std::uint32_t cp = 0, min = 0;
  if ((b0 & 0xE0u) == 0xC0u) {
    len = 2, cp = b0 & 0x1Fu, min = 0x80;
  } else if ((b0 & 0xF0u) == 0xE0u) {
    len = 3, cp = b0 & 0x0Fu, min = 0x800;
  } else if ((b0 & 0xF8u) == 0xF0u) {
    len = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    return -1;
  }
  if (s.size() - i < len) return -1;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0u) != 0x80u) return -1;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += len;
  return static_cast<std::int32_t>(cp);
}

/// Go's unicode.IsSpace: the Latin-1 spaces and the White_Space code points above them.
inline bool is_unicode_space(std::int32_t c) noexcept {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/// Valid UTF-8 with no ASCII control character other than "\n" (the C2SP rule for a whole note).
inline bool note_chars_ok(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {  // fast path
      if (b < 0x20 && b != '\n') return false;
      ++i;
      continue;
    }
    if (next_code_point(s, i) < 0) return false;
  }
  return true;
}

inline std::string key_id_hex(std::uint32_t id) { return fmt::format("{:08x}", id); }

/// Exactly 8 lowercase hex digits.
inline bool parse_key_id_hex(std::string_view s, std::uint32_t* out) noexcept {
  if (s.size() != 8) return false;
  std::uint32_t v = 0;
  for (const char c : s) {
    std::uint32_t d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<std::uint32_t>(c - 'a' + 10);
    } else {
      return false;
    }
    v = (v << 4) | d;
  }
  *out = v;
  return true;
}

inline std::uint32_t load_be32(const void* p) noexcept {
  const auto* b = static_cast<const unsigned char*>(p);
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

inline void store_be32(std::uint32_t v, std::uint8_t* b) noexcept {
  b[0] = static_cast<std::uint8_t>(v >> 24);
  b[1] = static_cast<std::uint8_t>(v >> 16);
  b[2] = static_cast<std::uint8_t>(v >> 8);
  b[3] = static_cast<std::uint8_t>(v);
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

/// The Ed25519 public key of a seed; false if OpenSSL fails.
inline bool ed25519_public_key(const std::array<std::uint8_t, 32>& seed, PublicKey* out) noexcept {
  PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return false;
  std::size_t len = out->size();
  return EVP_PKEY_get_raw_public_key(key.get(), out->data(), &len) == 1 && len == out->size();
}

/// Ed25519 verification (RFC 8032, as OpenSSL implements it). False for a malformed key or signature.
inline bool ed25519_verify(const PublicKey& public_key, std::string_view message, std::string_view signature) noexcept {
  if (signature.size() != kEd25519SignatureBytes) return false;
  PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

inline Status bad(std::string message) { return {Code::invalid_argument, std::move(message)}; }

/// Reads a small regular file into *out (reserved up front, so no reallocation leaves copies behind). *st is
/// the file's fstat. Fails with invalid_argument when the file is larger than max.
inline Status read_small_file(const std::string& path, std::size_t max, std::string* out, struct stat* st) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return detail::errno_status(fmt::format("open {}", path), errno);
  Status s;
  if (::fstat(fd, st) != 0) {
    s = detail::errno_status(fmt::format("stat {}", path), errno);
  } else if (!S_ISREG(st->st_mode)) {
    s = bad(fmt::format("{} is not a regular file", path));
  } else {
    out->clear();
    out->reserve(max + 1);
    out->resize(max + 1);
    std::size_t have = 0;
    while (have < out->size()) {
      const ssize_t n = ::read(fd, &(*out)[have], out->size() - have);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s = detail::errno_status(fmt::format("read {}", path), errno);
        break;
      }
      if (n == 0) break;
      have += static_cast<std::size_t>(n);
    }
    if (s && have > max) s = bad(fmt::format("{} is larger than {} bytes", path, max));
    // Shrinking keeps the buffer; callers wipe it with wipe_string.
    out->resize(s ? have : 0);
  }
  ::close(fd);
  return s;
}

/// Appends "— name base64(id || sig)\n".
inline void append_signature_line(std::string& out, const NoteSignature& sig) {
  std::string raw(4 + sig.signature.size(), '\0');
  store_be32(sig.id, reinterpret_cast<std::uint8_t*>(raw.data()));
  std::memcpy(raw.data() + 4, sig.signature.data(), sig.signature.size());
  out.append(kSigPrefix).append(sig.name).append(1, ' ').append(base64_encode(raw)).append(1, '\n');
}

/// Signs text with key and appends the resulting signature to note->signatures.
inline Status append_own_signature(Note* n, const SigningKey& key) {
  Result<std::string> sig = key.sign(n->text);
  if (!sig) return sig.status();
  n->signatures.push_back({key.name(), key.verifier().id, std::move(sig).value()});
  return {};
}

inline Result<std::string> format_checked(const Note& n) {
  std::string out = format_note(n);
  if (out.size() > kMaxNoteBytes) return bad(fmt::format("note: would exceed {} bytes", kMaxNoteBytes));
  return out;
}

}  // namespace note_impl

// ------------------------------------------------------------------------------------------------------------
// Base64

// The project's one strict RFC 4648 codec (detail/crypto.hpp): canonical input only.
FA_INLINE std::string base64_encode(const void* data, std::size_t n) { return detail::b64_encode(data, n); }

FA_INLINE bool base64_decode(std::string_view text, std::string* out) { return detail::b64_decode(text, out); }

// ------------------------------------------------------------------------------------------------------------
// Keys

FA_INLINE bool valid_key_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size();) {
    const std::int32_t c = note_impl::next_code_point(name, i);
    if (c < 0x20 || c == '+' || note_impl::is_unicode_space(c)) return false;  // c < 0: ill-formed UTF-8
  }
  return true;
}

FA_INLINE std::uint32_t ed25519_key_id(std::string_view name, const PublicKey& public_key) {
  detail::Sha256 h;
  h.update(name);
  const std::uint8_t sep[2] = {0x0A, kAlgEd25519};
  h.update(sep, sizeof sep);
  h.update(public_key.data(), public_key.size());
  return note_impl::load_be32(h.final().data());
}

FA_INLINE std::string key_label(std::string_view name, std::uint32_t id) {
  return fmt::format("{}+{:08x}", name, id);
}

FA_INLINE std::string VerifierKey::text() const {
  std::uint8_t raw[1 + 32];
  raw[0] = kAlgEd25519;
  std::memcpy(raw + 1, public_key.data(), public_key.size());
  return fmt::format("{}+{:08x}+{}", name, id, base64_encode(raw, sizeof raw));
}

FA_INLINE Result<VerifierKey> parse_verifier_key(std::string_view text) {
  using note_impl::bad;
  const auto plus1 = text.find('+');
  if (plus1 == std::string_view::npos) return bad("verifier key: expected <name>+<key id>+<key>");
  const auto plus2 = text.find('+', plus1 + 1);
  if (plus2 == std::string_view::npos) return bad("verifier key: expected <name>+<key id>+<key>");
  VerifierKey key;
  const std::string_view name = text.substr(0, plus1);
  if (!valid_key_name(name)) return bad("verifier key: invalid key name");
  key.name = std::string(name);
  if (!note_impl::parse_key_id_hex(text.substr(plus1 + 1, plus2 - plus1 - 1), &key.id))
    return bad("verifier key: the key ID must be 8 lowercase hex digits");
  std::string raw;
  if (!base64_decode(text.substr(plus2 + 1), &raw)) return bad("verifier key: the key is not canonical base64");
  if (raw.empty() || static_cast<std::uint8_t>(raw[0]) != kAlgEd25519)
    return bad("verifier key: unsupported key type (only Ed25519, type 0x01)");
  if (raw.size() != 1 + key.public_key.size()) return bad("verifier key: an Ed25519 key has 32 bytes");
  std::memcpy(key.public_key.data(), raw.data() + 1, key.public_key.size());
  try {
    if (ed25519_key_id(key.name, key.public_key) != key.id)
      return bad(fmt::format("verifier key: key ID {:08x} does not match the name and public key", key.id));
  } catch (const std::exception& e) {
    return Status(Code::internal, e.what());
  }
  return key;
}

FA_INLINE Result<VerifierKey> load_verifier_key(const std::string& path) {
  std::string text;
  struct stat st {};
  Status s = note_impl::read_small_file(path, note_impl::kMaxKeyFileBytes, &text, &st);
  if (!s) return s;
  std::string_view v = text;
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  Result<VerifierKey> key = parse_verifier_key(v);
  if (!key) return Status(key.status().code(), fmt::format("{}: {}", path, key.status().message()));
  return key;
}

FA_INLINE Status save_verifier_key(const std::string& path, const VerifierKey& key) {
  if (!valid_key_name(key.name)) return note_impl::bad("verifier key: invalid key name");
  return detail::create_file_exclusive(path, key.text() + "\n", 0644);
}

FA_INLINE SigningKey::~SigningKey() { detail::secure_wipe(seed_.data(), seed_.size()); }

FA_INLINE SigningKey::SigningKey(SigningKey&& other) noexcept : seed_(other.seed_), verifier_(std::move(other.verifier_)) {
  detail::secure_wipe(other.seed_.data(), other.seed_.size());
}

FA_INLINE SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    seed_ = other.seed_;
    verifier_ = std::move(other.verifier_);
    detail::secure_wipe(other.seed_.data(), other.seed_.size());
  }
  return *this;
}

FA_INLINE Result<SigningKey> SigningKey::from_seed(std::string_view name, const std::array<std::uint8_t, 32>& seed) {
  if (!valid_key_name(name)) return note_impl::bad("signing key: invalid key name");
  SigningKey key;
  key.seed_ = seed;
  key.verifier_.name = std::string(name);
  if (!note_impl::ed25519_public_key(key.seed_, &key.verifier_.public_key))
    return Status(Code::internal, "OpenSSL: cannot derive the Ed25519 public key");
  try {
    key.verifier_.id = ed25519_key_id(key.verifier_.name, key.verifier_.public_key);
  } catch (const std::exception& e) {
    return Status(Code::internal, e.what());
  }
  return key;
}

FA_INLINE Result<SigningKey> SigningKey::generate(std::string_view name) {
  if (!valid_key_name(name)) return note_impl::bad("signing key: invalid key name");
  std::array<std::uint8_t, 32> seed{};
  try {
    detail::random_bytes(seed.data(), seed.size());
  } catch (const std::exception& e) {
    return Status(Code::internal, e.what());
  }
  Result<SigningKey> key = from_seed(name, seed);
  detail::secure_wipe(seed.data(), seed.size());
  return key;
}

FA_INLINE Result<SigningKey> SigningKey::parse(std::string_view text) {
  using note_impl::bad;
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.substr(0, note_impl::kPrivatePrefix.size()) != note_impl::kPrivatePrefix)
    return bad("signing key: expected PRIVATE+KEY+<name>+<key id>+<key>");
  text.remove_prefix(note_impl::kPrivatePrefix.size());
  const auto plus1 = text.find('+');
  const auto plus2 = plus1 == std::string_view::npos ? plus1 : text.find('+', plus1 + 1);
  if (plus2 == std::string_view::npos) return bad("signing key: expected PRIVATE+KEY+<name>+<key id>+<key>");
  const std::string_view name = text.substr(0, plus1);
  if (!valid_key_name(name)) return bad("signing key: invalid key name");
  std::uint32_t id = 0;
  if (!note_impl::parse_key_id_hex(text.substr(plus1 + 1, plus2 - plus1 - 1), &id))
    return bad("signing key: the key ID must be 8 lowercase hex digits");
  std::string raw;
  const bool decoded = base64_decode(text.substr(plus2 + 1), &raw);
  Status s;
  std::array<std::uint8_t, 32> seed{};
  if (!decoded) {
    s = bad("signing key: the key is not canonical base64");
  } else if (raw.empty() || static_cast<std::uint8_t>(raw[0]) != kAlgEd25519) {
    s = bad("signing key: unsupported key type (only Ed25519, type 0x01)");
  } else if (raw.size() != 1 + seed.size()) {
    s = bad("signing key: an Ed25519 seed has 32 bytes");
  } else {
    std::memcpy(seed.data(), raw.data() + 1, seed.size());
  }
  note_impl::wipe_string(raw);
  if (!s) return s;
  Result<SigningKey> key = from_seed(name, seed);
  detail::secure_wipe(seed.data(), seed.size());
  if (key && key->verifier().id != id) return bad("signing key: the key ID does not match the key");
  return key;
}

FA_INLINE Result<SigningKey> SigningKey::load(const std::string& path) {
  std::string text;
  struct stat st {};
  Status s = note_impl::read_small_file(path, note_impl::kMaxKeyFileBytes, &text, &st);
  if (s && (st.st_mode & 077) != 0)
    s = note_impl::bad(fmt::format("signing key file {} is accessible by group or others (mode {:04o}); "
                                   "run chmod 600 {}",
                                   path, st.st_mode & 07777, path));
  if (!s) {
    note_impl::wipe_string(text);
    return s;
  }
  Result<SigningKey> key = parse(text);
  note_impl::wipe_string(text);
  if (!key) return Status(key.status().code(), fmt::format("{}: {}", path, key.status().message()));
  return key;
}

FA_INLINE Status SigningKey::save(const std::string& path) const {
  std::string text = this->text();
  text.push_back('\n');  // text() reserved room for it
  Status s = detail::create_file_exclusive(path, text, 0600);
  note_impl::wipe_string(text);
  return s;
}

FA_INLINE std::string SigningKey::text() const {
  std::uint8_t raw[1 + 32];
  raw[0] = kAlgEd25519;
  std::memcpy(raw + 1, seed_.data(), seed_.size());
  std::string b64 = base64_encode(raw, sizeof raw);
  detail::secure_wipe(raw, sizeof raw);
  std::string out;
  // One allocation, room for a trailing "\n" (save), so no reallocation leaves a copy of the secret behind.
  out.reserve(note_impl::kPrivatePrefix.size() + verifier_.name.size() + 1 + 8 + 1 + b64.size() + 1);
  out.append(note_impl::kPrivatePrefix).append(verifier_.name).append(1, '+');
  out.append(note_impl::key_id_hex(verifier_.id)).append(1, '+').append(b64);
  note_impl::wipe_string(b64);
  return out;
}

FA_INLINE Result<std::string> SigningKey::sign(std::string_view message) const {
  note_impl::PkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed_.data(), seed_.size()));
  note_impl::MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(kEd25519SignatureBytes, '\0');
  std::size_t len = sig.size();
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != kEd25519SignatureBytes)
    return Status(Code::internal, "OpenSSL: Ed25519 signing failed");
  return sig;
}

// ------------------------------------------------------------------------------------------------------------
// Notes

FA_INLINE bool valid_note_text(std::string_view text) noexcept {
  return !text.empty() && text.size() <= kMaxNoteBytes && text.back() == '\n' && note_impl::note_chars_ok(text);
}

FA_INLINE Result<Note> parse_note(std::string_view note) {
  using note_impl::bad;
  if (note.size() > kMaxNoteBytes) return bad(fmt::format("note: larger than {} bytes", kMaxNoteBytes));
  if (!note_impl::note_chars_ok(note))
    return bad("note: not valid UTF-8, or contains an ASCII control character other than newline");
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) return bad("note: no blank line before the signatures");
  Note n;
  n.text = std::string(note.substr(0, split + 1));
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty()) return bad("note: no signature after the blank line");
  if (sigs.back() != '\n') return bad("note: the last signature line does not end in a newline");
  std::string raw;
  for (std::size_t line_no = 1; !sigs.empty(); ++line_no) {
    const auto nl = sigs.find('\n');
    std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (line_no > kMaxSignatures) return bad(fmt::format("note: more than {} signatures", kMaxSignatures));
    if (line.substr(0, note_impl::kSigPrefix.size()) != note_impl::kSigPrefix)
      return bad(fmt::format("note: signature line {} does not start with an em dash and a space", line_no));
    line.remove_prefix(note_impl::kSigPrefix.size());
    const auto space = line.find(' ');
    if (space == std::string_view::npos)
      return bad(fmt::format("note: signature line {} has no space between name and signature", line_no));
    const std::string_view name = line.substr(0, space), b64 = line.substr(space + 1);
    if (!valid_key_name(name)) return bad(fmt::format("note: signature line {} has an invalid key name", line_no));
    if (!base64_decode(b64, &raw))
      return bad(fmt::format("note: signature line {} is not canonical base64", line_no));
    if (raw.size() < 5) return bad(fmt::format("note: signature line {} is shorter than 5 bytes", line_no));
    n.signatures.push_back({std::string(name), note_impl::load_be32(raw.data()), raw.substr(4)});
  }
  return n;
}

FA_INLINE std::string format_note(const Note& note) {
  std::string out;
  out.reserve(note.text.size() + 1 + note.signatures.size() * 128);
  out.append(note.text).append(1, '\n');
  for (const NoteSignature& sig : note.signatures) note_impl::append_signature_line(out, sig);
  return out;
}

FA_INLINE Result<std::string> sign_note(std::string_view text, const SigningKey& key) {
  if (!valid_note_text(text))
    return note_impl::bad(
        "note: the text must be valid UTF-8 ending in a newline, without other ASCII control characters, "
        "at most 1 MiB");
  Note n;
  n.text = std::string(text);
  Status s = note_impl::append_own_signature(&n, key);
  if (!s) return s;
  return note_impl::format_checked(n);
}

FA_INLINE Result<std::string> add_signature(std::string_view note, const SigningKey& key) {
  Result<Note> n = parse_note(note);
  if (!n) return n.status();
  auto& sigs = n->signatures;
  const VerifierKey& v = key.verifier();
  sigs.erase(std::remove_if(sigs.begin(), sigs.end(),
                            [&](const NoteSignature& s) { return s.name == v.name && s.id == v.id; }),
             sigs.end());
  if (sigs.size() >= kMaxSignatures)
    return note_impl::bad(fmt::format("note: already has {} signatures", kMaxSignatures));
  Status s = note_impl::append_own_signature(&n.value(), key);
  if (!s) return s;
  return note_impl::format_checked(n.value());
}

FA_INLINE Result<NoteVerification> verify_note(std::string_view note, const std::vector<VerifierKey>& trusted) {
  using note_impl::bad;
  try {
    for (std::size_t i = 0; i < trusted.size(); ++i) {
      const VerifierKey& k = trusted[i];
      if (!valid_key_name(k.name)) return bad(fmt::format("trusted key {}: invalid key name", i));
      if (ed25519_key_id(k.name, k.public_key) != k.id)
        return bad(fmt::format("trusted key {}: the key ID does not match the name and public key",
                               key_label(k.name, k.id)));
      for (std::size_t j = 0; j < i; ++j)
        if (trusted[j].name == k.name && trusted[j].id == k.id && trusted[j].public_key != k.public_key)
          return bad(fmt::format("trusted keys: two different keys named {}", key_label(k.name, k.id)));
    }
    Result<Note> n = parse_note(note);
    if (!n) return n.status();
    NoteVerification out;
    auto add_once = [](std::vector<std::string>& list, std::string item) {
      if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
    };
    // At most one Ed25519 verification per trusted key, and none after the first failure: a hostile note
    // with 100 signature lines naming a trusted key costs one verification, not 100.
    std::vector<bool> tried(trusted.size(), false);
    for (const NoteSignature& sig : n->signatures) {
      const auto key = std::find_if(trusted.begin(), trusted.end(), [&](const VerifierKey& k) {
        return k.name == sig.name && k.id == sig.id;
      });
      if (key == trusted.end()) {
        add_once(out.unknown_signers, key_label(sig.name, sig.id));
        continue;
      }
      const auto at = static_cast<std::size_t>(key - trusted.begin());
      if (tried[at]) continue;
      tried[at] = true;
      if (note_impl::ed25519_verify(key->public_key, n->text, sig.signature)) {
        add_once(out.verified_by, key->text());
      } else {
        out.bad_signature = true;
        break;
      }
    }
    return out;
  } catch (const std::exception& e) {
    return Status(Code::internal, e.what());
  }
}

// ------------------------------------------------------------------------------------------------------------
// Checkpoints

FA_INLINE std::string format_checkpoint(const Checkpoint& checkpoint) {
  std::string out;
  out.append(checkpoint.origin).append(1, '\n');
  out.append(std::to_string(checkpoint.size)).append(1, '\n');
  out.append(base64_encode(checkpoint.root.data(), checkpoint.root.size())).append(1, '\n');
  for (const std::string& ext : checkpoint.extensions) out.append(ext).append(1, '\n');
  return out;
}

FA_INLINE Result<Checkpoint> parse_checkpoint(std::string_view body) {
  using note_impl::bad;
  if (!valid_note_text(body))
    return bad("checkpoint: not a note text (valid UTF-8 ending in a newline, no other control characters)");
  std::vector<std::string_view> lines;
  for (std::string_view rest = body; !rest.empty();) {
    const auto nl = rest.find('\n');  // found: body ends in "\n"
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return bad("checkpoint: fewer than 3 lines (origin, size, root hash)");
  Checkpoint c;
  if (lines[0].empty()) return bad("checkpoint: empty origin");
  c.origin = std::string(lines[0]);
  const std::string_view size = lines[1];
  if (size.empty() || (size.size() > 1 && size[0] == '0'))
    return bad("checkpoint: the tree size must be decimal without leading zeros");
  const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), c.size);
  if (ec == std::errc::result_out_of_range) return bad("checkpoint: the tree size does not fit in 64 bits");
  if (ec != std::errc() || end != size.data() + size.size())
    return bad("checkpoint: the tree size must be decimal without leading zeros");
  std::string raw;
  if (!base64_decode(lines[2], &raw) || raw.size() != c.root.size())
    return bad("checkpoint: the root hash must be the canonical base64 of 32 bytes");
  std::memcpy(c.root.data(), raw.data(), c.root.size());
  for (std::size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return bad(fmt::format("checkpoint: extension line {} is empty", i + 1));
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

FA_INLINE std::string checkpoint_origin(std::string_view key_name, std::string_view log_id) {
  std::string out;
  out.reserve(key_name.size() + 1 + log_id.size());
  out.append(key_name).append(1, '/').append(log_id);
  return out;
}

}  // namespace note
}  // namespace fooocus_audit
