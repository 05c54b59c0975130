// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/merkle.hpp"
#endif

#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace fooocus_audit {
namespace merkle {

namespace merkle_impl {

inline detail::Sha256& hasher() {
  thread_local detail::Sha256 h;
  return h;
}

/// Digests the parts with the thread's context. If OpenSSL fails half-way, the context is reset so
/// that no later hash starts from a partial message.
template <typename Feed>
Hash digest(Feed feed) {
  detail::Sha256& h = hasher();
  try {
    feed(h);
    return h.final();
  } catch (...) {
    try {
      (void)h.final();
    } catch (...) {  // the original error is the one worth reporting
    }
    throw;
  }
}

inline Hash range_root(const Hash* leaves, std::size_t n) {
  if (n == 1) return leaves[0];
  std::size_t k = 1;
  while (k << 1 < n) k <<= 1;
  return node_hash(range_root(leaves, k), range_root(leaves + k, n - k));
}

inline std::size_t popcount(std::uint64_t x) noexcept {
  std::size_t c = 0;
  for (; x != 0; x &= x - 1) ++c;
  return c;
}

}  // namespace merkle_impl

FA_INLINE Hash leaf_hash(std::string_view data) {
  return merkle_impl::digest([&](detail::Sha256& h) {
    const std::uint8_t prefix = 0x00;
    h.update(&prefix, 1);
    h.update(data);
  });
}

FA_INLINE Hash node_hash(const Hash& left, const Hash& right) {
  std::uint8_t buf[1 + 2 * sizeof(Hash)];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), left.size());
  std::memcpy(buf + 1 + left.size(), right.data(), right.size());
  return merkle_impl::digest([&](detail::Sha256& h) { h.update(buf, sizeof buf); });
}

FA_INLINE Hash empty_root() {
  // SHA-256 of the empty string, e3b0c442...b855.
  static constexpr Hash kEmpty = {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
                                  0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
                                  0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
  return kEmpty;
}

FA_INLINE void Frontier::append(const Hash& leaf_hash) {
  // Each trailing set bit of size_ is a perfect subtree as high as the new one: merge with it. The
  // vector changes only after every hash is computed, so a throwing hash leaves the frontier intact.
  std::size_t merged = 0;
  Hash carry = leaf_hash;
  for (std::uint64_t s = size_; (s & 1) != 0; s >>= 1, ++merged)
    carry = node_hash(nodes_[nodes_.size() - 1 - merged], carry);
  nodes_.resize(nodes_.size() - merged);
  nodes_.push_back(carry);
  ++size_;
}

FA_INLINE Hash Frontier::root() const {
  if (nodes_.empty()) return empty_root();
  Hash h = nodes_.back();
  for (std::size_t i = nodes_.size() - 1; i-- > 0;) h = node_hash(nodes_[i], h);
  return h;
}

FA_INLINE Frontier Frontier::from_nodes(std::uint64_t size, std::vector<Hash> nodes) {
  if (merkle_impl::popcount(size) != nodes.size())
    throw std::invalid_argument("merkle frontier: " + std::to_string(nodes.size()) + " nodes for size " +
                                std::to_string(size) + " (expected one per set bit of the size)");
  Frontier f;
  f.size_ = size;
  f.nodes_ = std::move(nodes);
  return f;
}

FA_INLINE Hash root_of(const std::vector<Hash>& leaf_hashes) {
  if (leaf_hashes.empty()) return empty_root();
  return merkle_impl::range_root(leaf_hashes.data(), leaf_hashes.size());
}

}  // namespace merkle
}  // namespace fooocus_audit
