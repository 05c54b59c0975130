// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/detail/crypto.hpp"
#endif

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

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

}  // namespace detail
}  // namespace fooocus_audit
