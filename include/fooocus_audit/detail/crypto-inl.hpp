// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/detail/crypto.hpp"
#endif

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace fooocus_audit {
namespace detail {

namespace crypto_impl {
// Fetched once: avoids OpenSSL 3's implicit provider look-up on every digest.
inline EVP_MD* sha256_md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) throw std::runtime_error("OpenSSL: SHA256 not available");
    return m;
  }();
  return md;
}
}  // namespace crypto_impl

FA_INLINE Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex2(static_cast<EVP_MD_CTX*>(ctx_), crypto_impl::sha256_md(), nullptr) != 1) {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
  }
}

FA_INLINE Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

FA_INLINE Sha256& Sha256::operator=(Sha256&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}

FA_INLINE void Sha256::update(const void* data, std::size_t n) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, n) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 update failed");
}

FA_INLINE void Sha256::copy_to(Sha256& out) const {
  if (EVP_MD_CTX_copy_ex(static_cast<EVP_MD_CTX*>(out.ctx_), static_cast<const EVP_MD_CTX*>(ctx_)) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 context copy failed");
}

FA_INLINE Hash Sha256::final() {
  Hash h{};
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  if (EVP_DigestFinal_ex(ctx, h.data(), nullptr) != 1 ||
      EVP_DigestInit_ex2(ctx, crypto_impl::sha256_md(), nullptr) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 final failed");
  return h;
}

FA_INLINE Hash sha256(const void* data, std::size_t n) {
  Hash h{};
  if (EVP_Digest(data, n, h.data(), nullptr, crypto_impl::sha256_md(), nullptr) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 failed");
  return h;
}

FA_INLINE Hash hmac_sha256(const void* key, std::size_t key_len, std::string_view data) {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (m == nullptr) throw std::runtime_error("OpenSSL: HMAC not available");
    return m;
  }();
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  if (ctx == nullptr) throw std::runtime_error("OpenSSL: cannot allocate HMAC context");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  Hash out{};
  std::size_t out_len = 0;
  const bool ok = EVP_MAC_init(ctx, static_cast<const unsigned char*>(key), key_len, params) == 1 &&
                  EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
                  EVP_MAC_final(ctx, out.data(), &out_len, out.size()) == 1 && out_len == out.size();
  EVP_MAC_CTX_free(ctx);
  if (!ok) throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
  return out;
}

namespace crypto_impl {
inline EVP_MAC* hmac_mac() {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (m == nullptr) throw std::runtime_error("OpenSSL: HMAC not available");
    return m;
  }();
  return mac;
}
}  // namespace crypto_impl

FA_INLINE HmacSha256::HmacSha256(const void* key, std::size_t key_len) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(crypto_impl::hmac_mac());
  if (ctx == nullptr) throw std::runtime_error("OpenSSL: cannot allocate HMAC context");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, static_cast<const unsigned char*>(key), key_len, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    throw std::runtime_error("OpenSSL: cannot key HMAC-SHA256");
  }
  ctx_ = ctx;
}

FA_INLINE HmacSha256::~HmacSha256() { EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(ctx_)); }

FA_INLINE HmacSha256& HmacSha256::operator=(HmacSha256&& other) noexcept {
  if (this != &other) {
    EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(ctx_));
    ctx_ = other.ctx_;
    other.ctx_ = nullptr;
  }
  return *this;
}

FA_INLINE HmacSha256 HmacSha256::clone() const {
  HmacSha256 copy;
  if (ctx_ == nullptr) return copy;
  copy.ctx_ = EVP_MAC_CTX_dup(static_cast<const EVP_MAC_CTX*>(ctx_));
  if (copy.ctx_ == nullptr) throw std::runtime_error("OpenSSL: cannot copy HMAC context");
  return copy;
}

FA_INLINE Hash HmacSha256::mac(const void* data, std::size_t n) {
  auto* ctx = static_cast<EVP_MAC_CTX*>(ctx_);
  Hash out{};
  std::size_t out_len = 0;
  // A null key restarts HMAC from the keyed inner/outer states (no re-keying).
  const bool ok = ctx != nullptr && EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
                  EVP_MAC_update(ctx, static_cast<const unsigned char*>(data), n) == 1 &&
                  EVP_MAC_final(ctx, out.data(), &out_len, out.size()) == 1 && out_len == out.size();
  if (!ok) throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
  return out;
}

FA_INLINE void random_bytes(void* out, std::size_t n) {
  if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) != 1)
    throw std::runtime_error("OpenSSL: RAND_bytes failed");
}

FA_INLINE bool constant_time_equal(const void* a, const void* b, std::size_t n) noexcept {
  return CRYPTO_memcmp(a, b, n) == 0;
}

FA_INLINE void secure_wipe(void* p, std::size_t n) noexcept { OPENSSL_cleanse(p, n); }

FA_INLINE void append_hex(std::string& out, const std::uint8_t* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  const std::size_t at = out.size();
  out.resize(at + 2 * n);
  char* w = &out[at];
  for (std::size_t i = 0; i < n; ++i) {
    w[2 * i] = digits[p[i] >> 4];
    w[2 * i + 1] = digits[p[i] & 0xF];
  }
}

FA_INLINE std::string to_hex(const std::uint8_t* p, std::size_t n) {
  std::string s;
  append_hex(s, p, n);
  return s;
}

FA_INLINE bool parse_hash_hex(std::string_view s, Hash* out) noexcept {
  // A table instead of branches: hash digits are random, so per-digit branches mispredict (verifier hot path).
  static constexpr auto kNibble = [] {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - 'a' + 10);
    return t;
  }();
  if (s.size() != 64) return false;
  int bad = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = kNibble[static_cast<unsigned char>(s[2 * i])], lo = kNibble[static_cast<unsigned char>(s[2 * i + 1])];
    bad |= hi | lo;  // -1 sets the sign bit
    (*out)[i] = static_cast<std::uint8_t>(((static_cast<unsigned>(hi) & 0xFu) << 4) | (static_cast<unsigned>(lo) & 0xFu));
  }
  return bad >= 0;
}


// ------------------------------------------------------------------------------------------------------------
// HKDF, AES-SIV, AES-GCM, Base64

namespace crypto_impl {
inline EVP_CIPHER* fetch_cipher(const char* name) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (c == nullptr) throw std::runtime_error(std::string("OpenSSL: cipher not available: ") + name);
  return c;
}
inline EVP_CIPHER* aes256_siv() {
  static EVP_CIPHER* c = fetch_cipher("AES-256-SIV");
  return c;
}
inline EVP_CIPHER* aes256_gcm() {
  static EVP_CIPHER* c = fetch_cipher("AES-256-GCM");
  return c;
}
struct CipherCtx {
  EVP_CIPHER_CTX* p = EVP_CIPHER_CTX_new();
  CipherCtx() {
    if (p == nullptr) throw std::runtime_error("OpenSSL: cannot allocate a cipher context");
  }
  ~CipherCtx() { EVP_CIPHER_CTX_free(p); }
  CipherCtx(const CipherCtx&) = delete;
  CipherCtx& operator=(const CipherCtx&) = delete;
};
inline const unsigned char* uc(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
inline unsigned char* uc(std::string& s) { return reinterpret_cast<unsigned char*>(&s[0]); }
inline int len(std::string_view s) {
  if (s.size() > static_cast<std::size_t>(INT32_MAX) - 64) throw std::runtime_error("AEAD input too large");
  return static_cast<int>(s.size());
}
// An empty buffer still needs a valid pointer: the SIV and GCM providers treat a null input as AAD.
inline const unsigned char* nonnull(std::string_view s) {
  static const unsigned char zero = 0;
  return s.empty() ? &zero : uc(s);
}
}  // namespace crypto_impl

FA_INLINE void hkdf_sha256(const void* ikm, std::size_t ikm_len, std::string_view salt, std::string_view info,
                           void* out, std::size_t out_len) {
  static EVP_KDF* kdf = [] {
    EVP_KDF* k = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    if (k == nullptr) throw std::runtime_error("OpenSSL: HKDF not available");
    return k;
  }();
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  if (ctx == nullptr) throw std::runtime_error("OpenSSL: cannot allocate HKDF context");
  char digest[] = "SHA256";
  unsigned char empty = 0;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, ikm_len ? const_cast<void*>(ikm) : &empty, ikm_len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  const bool ok = EVP_KDF_derive(ctx, static_cast<unsigned char*>(out), out_len, params) == 1;
  EVP_KDF_CTX_free(ctx);
  if (!ok) throw std::runtime_error("OpenSSL: HKDF-SHA256 failed");
}

FA_INLINE std::string aes256_siv_encrypt(const std::uint8_t* key64, std::string_view ad,
                                         std::string_view plaintext) {
  using namespace crypto_impl;
  if (plaintext.empty()) throw std::runtime_error("AES-256-SIV: empty plaintext");
  CipherCtx ctx;
  std::string out(kSivTagBytes + plaintext.size(), '\0');
  int n = 0;
  bool ok = EVP_EncryptInit_ex2(ctx.p, aes256_siv(), key64, nullptr, nullptr) == 1 &&
            EVP_EncryptUpdate(ctx.p, nullptr, &n, nonnull(ad), len(ad)) == 1 &&
            EVP_EncryptUpdate(ctx.p, uc(out) + kSivTagBytes, &n, uc(plaintext), len(plaintext)) == 1 &&
            EVP_EncryptFinal_ex(ctx.p, uc(out) + kSivTagBytes, &n) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.p, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kSivTagBytes), uc(out)) == 1;
  if (!ok) throw std::runtime_error("OpenSSL: AES-256-SIV encryption failed");
  return out;
}

FA_INLINE bool aes256_siv_decrypt(const std::uint8_t* key64, std::string_view ad, std::string_view v_and_c,
                                  std::string* out) {
  using namespace crypto_impl;
  out->clear();
  if (v_and_c.size() <= kSivTagBytes) return false;
  CipherCtx ctx;
  std::string tag(v_and_c.substr(0, kSivTagBytes));
  const std::string_view c = v_and_c.substr(kSivTagBytes);
  std::string pt(c.size(), '\0');
  int n = 0;
  // The SIV provider checks V inside the update that decrypts; final reports the result again.
  const bool ok = EVP_DecryptInit_ex2(ctx.p, aes256_siv(), key64, nullptr, nullptr) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx.p, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kSivTagBytes), uc(tag)) == 1 &&
                  EVP_DecryptUpdate(ctx.p, nullptr, &n, nonnull(ad), len(ad)) == 1 &&
                  EVP_DecryptUpdate(ctx.p, uc(pt), &n, uc(c), len(c)) == 1 &&
                  EVP_DecryptFinal_ex(ctx.p, uc(pt), &n) == 1;
  if (!ok) {
    secure_wipe(pt.data(), pt.size());
    return false;
  }
  *out = std::move(pt);
  return true;
}

FA_INLINE std::string aes256_gcm_encrypt(const std::uint8_t* key32, std::string_view ad,
                                         std::string_view plaintext) {
  using namespace crypto_impl;
  CipherCtx ctx;
  std::string out(kGcmNonceBytes + plaintext.size() + kGcmTagBytes, '\0');
  random_bytes(uc(out), kGcmNonceBytes);
  unsigned char* ct = uc(out) + kGcmNonceBytes;
  int n = 0, m = 0;
  const bool ok =
      EVP_EncryptInit_ex2(ctx.p, aes256_gcm(), key32, uc(out), nullptr) == 1 &&
      (ad.empty() || EVP_EncryptUpdate(ctx.p, nullptr, &n, uc(ad), len(ad)) == 1) &&
      (plaintext.empty() || EVP_EncryptUpdate(ctx.p, ct, &n, uc(plaintext), len(plaintext)) == 1) &&
      EVP_EncryptFinal_ex(ctx.p, ct + (plaintext.empty() ? 0 : n), &m) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.p, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kGcmTagBytes), ct + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("OpenSSL: AES-256-GCM encryption failed");
  return out;
}

FA_INLINE bool aes256_gcm_decrypt(const std::uint8_t* key32, std::string_view ad, std::string_view nonce_c_tag,
                                  std::string* out) {
  using namespace crypto_impl;
  out->clear();
  if (nonce_c_tag.size() < kGcmNonceBytes + kGcmTagBytes) return false;
  const std::string_view nonce = nonce_c_tag.substr(0, kGcmNonceBytes);
  const std::string_view c = nonce_c_tag.substr(kGcmNonceBytes, nonce_c_tag.size() - kGcmNonceBytes - kGcmTagBytes);
  std::string tag(nonce_c_tag.substr(nonce_c_tag.size() - kGcmTagBytes));
  CipherCtx ctx;
  std::string pt(c.size(), '\0');
  int n = 0, m = 0;
  unsigned char sink[16];
  const bool ok = EVP_DecryptInit_ex2(ctx.p, aes256_gcm(), key32, uc(nonce), nullptr) == 1 &&
                  (ad.empty() || EVP_DecryptUpdate(ctx.p, nullptr, &n, uc(ad), len(ad)) == 1) &&
                  (c.empty() || EVP_DecryptUpdate(ctx.p, uc(pt), &n, uc(c), len(c)) == 1) &&
                  EVP_CIPHER_CTX_ctrl(ctx.p, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kGcmTagBytes), uc(tag)) == 1 &&
                  EVP_DecryptFinal_ex(ctx.p, c.empty() ? sink : uc(pt) + n, &m) == 1;
  if (!ok) {
    secure_wipe(pt.data(), pt.size());
    return false;
  }
  *out = std::move(pt);
  return true;
}

namespace crypto_impl {
inline std::string b64_encode_with(const void* data, std::size_t n, const char* alphabet, bool pad) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out.push_back(alphabet[v >> 18]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  if (n - i == 1) {
    const std::uint32_t v = std::uint32_t{p[i]} << 16;
    out.push_back(alphabet[v >> 18]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (n - i == 2) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
    out.push_back(alphabet[v >> 18]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

inline bool b64_decode_with(std::string_view text, std::string* out, bool url) {
  out->clear();
  if (url ? text.size() % 4 == 1 : text.size() % 4 != 0) return false;
  std::size_t pad = 0;
  if (!url) {
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
    text.remove_suffix(pad);
  }
  auto digit = [url](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
  };
  out->reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int d = digit(c);
    if (d < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  // Canonical: a final group of 1 character is impossible; leftover bits must be zero.
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return false;
  if (!url && pad != (4 - text.size() % 4) % 4) return false;
  return true;
}
}  // namespace crypto_impl

FA_INLINE std::string b64_encode(const void* data, std::size_t n) {
  return crypto_impl::b64_encode_with(data, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true);
}
FA_INLINE std::string b64url_encode(const void* data, std::size_t n) {
  return crypto_impl::b64_encode_with(data, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false);
}
FA_INLINE bool b64_decode(std::string_view text, std::string* out) {
  const bool ok = crypto_impl::b64_decode_with(text, out, false);
  if (!ok) out->clear();
  return ok;
}
FA_INLINE bool b64url_decode(std::string_view text, std::string* out) {
  const bool ok = crypto_impl::b64_decode_with(text, out, true);
  if (!ok) out->clear();
  return ok;
}

}  // namespace detail
}  // namespace fooocus_audit
