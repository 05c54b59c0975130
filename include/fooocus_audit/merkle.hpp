// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file merkle.hpp
/// RFC 6962 / RFC 9162 Merkle tree hashing: leaf and interior node hashes, a streaming tree head with
/// O(log n) memory, and a reference (non-streaming) tree head for tests and small inputs.

#include <cstdint>
#include <string_view>
#include <vector>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/crypto.hpp"

namespace fooocus_audit {
namespace merkle {

/// SHA-256(0x00 || data): the hash of one leaf. One digest over the data, no copy.
/// Throws std::runtime_error only if OpenSSL fails. Thread-safe (each thread has its own context).
Hash leaf_hash(std::string_view data);

/// SHA-256(0x01 || left || right): the hash of an interior node. Thread-safe; throws as leaf_hash.
Hash node_hash(const Hash& left, const Hash& right);

/// SHA-256(""): the Merkle Tree Hash of the empty tree.
Hash empty_root();

/// The Merkle Tree Hash (RFC 6962 §2.1) of a growing list of leaves, kept as the roots of its perfect
/// subtrees (one per set bit of size(), at most 64 hashes). Appending costs amortized two node hashes,
/// root() costs popcount(size()) - 1. Not thread-safe; copyable.
class Frontier {
 public:
  /// Adds the next leaf, given as its leaf hash.
  void append(const Hash& leaf_hash);
  /// Number of leaves appended (or given to from_nodes).
  std::uint64_t size() const noexcept { return size_; }
  /// Merkle Tree Hash of all leaves so far; empty_root() when there are none.
  Hash root() const;
  /// Roots of the perfect subtrees, left (largest) to right (smallest): the state to persist.
  const std::vector<Hash>& nodes() const noexcept { return nodes_; }
  /// Rebuilds a frontier from size() and nodes() saved earlier. Throws std::invalid_argument when
  /// nodes.size() differs from the number of set bits of size. The hashes themselves cannot be checked.
  static Frontier from_nodes(std::uint64_t size, std::vector<Hash> nodes);

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash> nodes_;
};

/// Reference Merkle Tree Hash of a list of leaf hashes (RFC 6962 §2.1, split at the largest power of two
/// smaller than n). Recursion depth is log2(n). empty_root() for an empty list.
Hash root_of(const std::vector<Hash>& leaf_hashes);

}  // namespace merkle
}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/merkle-inl.hpp"
#endif
