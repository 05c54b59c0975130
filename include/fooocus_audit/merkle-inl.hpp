// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/merkle.hpp"
#endif

#include <algorithm>
#include <cstring>
#include <exception>
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

/// floor(log2(x)) for x > 0.
inline unsigned log2_floor(std::uint64_t x) noexcept {
  unsigned k = 0;
  while (x >>= 1) ++k;
  return k;
}

/// Trailing zero bits of x > 0.
inline unsigned trailing_zeros(std::uint64_t x) noexcept {
  unsigned k = 0;
  for (; (x & 1) == 0; x >>= 1) ++k;
  return k;
}

/// Largest power of two strictly smaller than n (n >= 2): the split point of RFC 6962 §2.1.
inline std::uint64_t split_point(std::uint64_t n) noexcept { return std::uint64_t{1} << log2_floor(n - 1); }

/// MTH(D[begin:end]) for a subtree of the RFC 6962 tree (begin < end): the aligned perfect pieces of the
/// range, largest first (one piece when the subtree is perfect), hashed from right to left.
inline Result<Hash> subtree_root(const NodeSource& src, std::uint64_t begin, std::uint64_t end) {
  Hash pieces[64];
  std::size_t n = 0;
  for (std::uint64_t pos = begin; pos < end;) {
    unsigned level = log2_floor(end - pos);
    if (pos != 0) level = std::min(level, trailing_zeros(pos));
    Result<Hash> h = src.node(level, pos >> level);
    if (!h) return h.status();
    pieces[n++] = h.value();
    pos += std::uint64_t{1} << level;
  }
  Hash acc = pieces[--n];
  while (n-- > 0) acc = node_hash(pieces[n], acc);
  return acc;
}

inline Status internal_error(const char* what, const std::exception& e) {
  return {Code::internal, std::string(what) + ": " + e.what()};
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

FA_INLINE Result<Hash> LeafVectorSource::node(unsigned level, std::uint64_t index) const {
  if (level >= 64 || index >= (leaves_->size() >> level))
    return Status(Code::invalid_argument, "merkle: node (" + std::to_string(level) + ", " +
                                              std::to_string(index) + ") is beyond the " +
                                              std::to_string(leaves_->size()) + " leaves");
  const std::uint64_t width = std::uint64_t{1} << level;
  try {
    return merkle_impl::range_root(leaves_->data() + index * width, static_cast<std::size_t>(width));
  } catch (const std::exception& e) {
    return merkle_impl::internal_error("merkle: node hash", e);
  }
}

FA_INLINE Result<Hash> root_at(const NodeSource& src, std::uint64_t size) {
  if (size > src.size())
    return Status(Code::invalid_argument, "merkle: tree size " + std::to_string(size) + " is beyond the " +
                                              std::to_string(src.size()) + " leaves of the source");
  if (size == 0) return empty_root();
  try {
    return merkle_impl::subtree_root(src, 0, size);
  } catch (const std::exception& e) {
    return merkle_impl::internal_error("merkle: root", e);
  }
}

FA_INLINE Result<std::vector<Hash>> inclusion_proof(const NodeSource& src, std::uint64_t index,
                                                    std::uint64_t size) {
  if (size > src.size())
    return Status(Code::invalid_argument, "merkle: inclusion proof for tree size " + std::to_string(size) +
                                              ", beyond the " + std::to_string(src.size()) +
                                              " leaves of the source");
  if (index >= size)
    return Status(Code::invalid_argument, "merkle: inclusion proof for leaf " + std::to_string(index) +
                                              " of a tree of " + std::to_string(size) + " leaves");
  // PATH(m, D[lo:hi]) descends into the half holding m and records the root of the other half; the proof
  // lists those siblings from the leaf up, i.e. in the reverse order of the descent.
  std::vector<Hash> proof;
  try {
    std::uint64_t lo = 0, hi = size;
    while (hi - lo > 1) {
      const std::uint64_t mid = lo + merkle_impl::split_point(hi - lo);
      Result<Hash> sibling =
          index < mid ? merkle_impl::subtree_root(src, mid, hi) : merkle_impl::subtree_root(src, lo, mid);
      if (!sibling) return sibling.status();
      proof.push_back(sibling.value());
      (index < mid ? hi : lo) = mid;
    }
  } catch (const std::exception& e) {
    return merkle_impl::internal_error("merkle: inclusion proof", e);
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

FA_INLINE Result<std::vector<Hash>> inclusion_proof(const std::vector<Hash>& leaves, std::uint64_t index,
                                                    std::uint64_t size) {
  return inclusion_proof(LeafVectorSource(leaves), index, size);
}

FA_INLINE Result<std::vector<Hash>> consistency_proof(const NodeSource& src, std::uint64_t old_size,
                                                      std::uint64_t new_size) {
  if (new_size > src.size())
    return Status(Code::invalid_argument, "merkle: consistency proof to tree size " +
                                              std::to_string(new_size) + ", beyond the " +
                                              std::to_string(src.size()) + " leaves of the source");
  if (old_size > new_size)
    return Status(Code::invalid_argument, "merkle: consistency proof from tree size " +
                                              std::to_string(old_size) + " to the smaller size " +
                                              std::to_string(new_size));
  std::vector<Hash> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  // SUBPROOF(m, D[lo:hi], b) with m kept as the absolute end of the old tree: while the old tree ends inside
  // the left half, descend left and record the right half; otherwise the left half is shared, record it and
  // descend right (the old tree's root is then no longer a node of the new tree: b = false). Recorded
  // top-down, listed bottom-up.
  try {
    std::uint64_t lo = 0, hi = new_size;
    bool old_root_known = true;
    while (old_size != hi) {
      const std::uint64_t mid = lo + merkle_impl::split_point(hi - lo);
      Result<Hash> h =
          old_size <= mid ? merkle_impl::subtree_root(src, mid, hi) : merkle_impl::subtree_root(src, lo, mid);
      if (!h) return h.status();
      proof.push_back(h.value());
      if (old_size <= mid) {
        hi = mid;
      } else {
        lo = mid;
        old_root_known = false;
      }
    }
    if (!old_root_known) {
      Result<Hash> h = merkle_impl::subtree_root(src, lo, hi);
      if (!h) return h.status();
      proof.push_back(h.value());
    }
  } catch (const std::exception& e) {
    return merkle_impl::internal_error("merkle: consistency proof", e);
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

FA_INLINE Result<std::vector<Hash>> consistency_proof(const std::vector<Hash>& leaves, std::uint64_t old_size,
                                                      std::uint64_t new_size) {
  return consistency_proof(LeafVectorSource(leaves), old_size, new_size);
}

FA_INLINE Result<Hash> root_from_inclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                                           const std::vector<Hash>& proof) {
  // RFC 9162 §2.1.3.2, step by step.
  if (index >= size)
    return Status(Code::invalid_argument, "merkle: leaf index " + std::to_string(index) +
                                              " is not below tree size " + std::to_string(size));
  if (proof.size() > kMaxInclusionProof)
    return Status(Code::invalid_argument, "merkle: inclusion proof of " + std::to_string(proof.size()) +
                                              " hashes (at most " + std::to_string(kMaxInclusionProof) + ")");
  std::uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Status(Code::invalid_argument, "merkle: inclusion proof has too many hashes");
    if ((fn & 1) != 0 || fn == sn) {
      r = node_hash(p, r);
      if ((fn & 1) == 0)
        while (fn != 0 && (fn & 1) == 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status(Code::invalid_argument, "merkle: inclusion proof has too few hashes");
  return r;
}

FA_INLINE bool verify_inclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                                const std::vector<Hash>& proof, const Hash& root) {
  Result<Hash> r = root_from_inclusion(leaf_hash, index, size, proof);
  return r.ok() && r.value() == root;
}

FA_INLINE bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                                  const Hash& new_root, const std::vector<Hash>& proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty() && old_root == empty_root();
  // RFC 9162 §2.1.4.2, step by step (0 < first < second).
  if (proof.empty() || proof.size() > kMaxConsistencyProof) return false;  // step 1 and the length bound
  std::size_t next = 0;
  Hash fr, sr;
  if ((old_size & (old_size - 1)) == 0) {
    fr = sr = old_root;  // step 2: first is a power of two, its root is a node of the new tree
  } else {
    fr = sr = proof[next++];  // step 5
  }
  std::uint64_t fn = old_size - 1, sn = new_size - 1;  // step 3
  while ((fn & 1) != 0) {                              // step 4
    fn >>= 1;
    sn >>= 1;
  }
  for (; next < proof.size(); ++next) {  // step 6
    const Hash& c = proof[next];
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if ((fn & 1) == 0)
        while (fn != 0 && (fn & 1) == 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == old_root && sr == new_root;  // step 7
}

}  // namespace merkle
}  // namespace fooocus_audit
