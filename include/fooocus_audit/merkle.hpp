// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file merkle.hpp
/// RFC 6962 / RFC 9162 Merkle tree hashing: leaf and interior node hashes, a streaming tree head with
/// O(log n) memory, a reference (non-streaming) tree head for tests and small inputs, and inclusion and
/// consistency proofs (generation from any source of perfect-subtree roots, and verification).

#include <cstddef>
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

// --- proofs (RFC 6962 §2.1.1-2.1.2, RFC 9162 §2.1.3-2.1.4)
// ---------------------------------------------------

/// Longest inclusion proof of any tree (its height is at most 64); longer proofs are rejected unread.
inline constexpr std::size_t kMaxInclusionProof = 64;
/// Bound on a consistency proof; longer proofs are rejected unread.
inline constexpr std::size_t kMaxConsistencyProof = 2 * 64;

/// Where proof generation reads the tree: the Merkle Tree Hash of *aligned perfect subtrees* only. The node
/// at `level` k and `index` i is MTH of the 2^k leaves [i·2^k, (i+1)·2^k) (level 0: the leaf hashes). Every
/// other subtree a proof needs (the right edge of a tree whose size is not a power of two) is combined from
/// these. Implementations: LeafVectorSource (memory), TreeStore (files beside the log).
class NodeSource {
 public:
  virtual ~NodeSource() = default;
  /// Number of leaves available.
  virtual std::uint64_t size() const = 0;
  /// MTH of the perfect subtree (level, index). Called only with level < 64 and (index+1)·2^level <= size().
  /// An error (I/O, corruption) is handed back unchanged by the proof functions.
  virtual Result<Hash> node(unsigned level, std::uint64_t index) const = 0;

 protected:
  NodeSource() = default;
  NodeSource(const NodeSource&) = default;
  NodeSource(NodeSource&&) = default;
  NodeSource& operator=(const NodeSource&) = default;
  NodeSource& operator=(NodeSource&&) = default;
};

/// A NodeSource over leaf hashes held in memory (not copied: `leaves` must outlive the source). A node of
/// level k costs 2^k - 1 node hashes, so a proof costs O(size) hashes: for tests and small trees.
class LeafVectorSource final : public NodeSource {
 public:
  explicit LeafVectorSource(const std::vector<Hash>& leaves) noexcept : leaves_(&leaves) {}
  std::uint64_t size() const override { return leaves_->size(); }
  Result<Hash> node(unsigned level, std::uint64_t index) const override;

 private:
  const std::vector<Hash>* leaves_;
};

/// MTH(D[0:size]) of the first `size` leaves of a source, from popcount(size) perfect subtrees
/// (empty_root() for 0). invalid_argument when size > src.size().
Result<Hash> root_at(const NodeSource& src, std::uint64_t size);

/// PATH(index, D[size]) (RFC 6962 §2.1.1, RFC 9162 §2.1.3.1): the sibling hashes from the leaf up to the
/// root, at most ceil(log2(size)) of them, each read as one perfect subtree or combined from the perfect
/// pieces of a right-edge subtree. invalid_argument when index >= size or size > src.size(); a source's error
/// as is; internal if OpenSSL fails.
Result<std::vector<Hash>> inclusion_proof(const NodeSource& src, std::uint64_t index, std::uint64_t size);
/// The same over leaf hashes in memory (size is at most leaves.size()).
Result<std::vector<Hash>> inclusion_proof(const std::vector<Hash>& leaves, std::uint64_t index,
                                          std::uint64_t size);

/// PROOF(old_size, D[new_size]) (RFC 6962 §2.1.2, RFC 9162 §2.1.4.1) that the tree of old_size leaves is a
/// prefix of the tree of new_size leaves. Empty when old_size is 0 or equals new_size. invalid_argument when
/// old_size > new_size or new_size > src.size(); a source's error as is; internal if OpenSSL fails.
Result<std::vector<Hash>> consistency_proof(const NodeSource& src, std::uint64_t old_size,
                                            std::uint64_t new_size);
/// The same over leaf hashes in memory.
Result<std::vector<Hash>> consistency_proof(const std::vector<Hash>& leaves, std::uint64_t old_size,
                                            std::uint64_t new_size);

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-4): invalid_argument when index >= size,
/// the proof is longer than kMaxInclusionProof, or it has too few or too many hashes for (index, size).
/// Throws std::runtime_error only if OpenSSL fails.
Result<Hash> root_from_inclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                                 const std::vector<Hash>& proof);

/// RFC 9162 §2.1.3.2: true when `proof` shows the leaf with hash `leaf_hash` at `index` in the tree of `size`
/// leaves whose root is `root`. Any size, index and proof length is safe to pass. Throws only if OpenSSL
/// fails.
bool verify_inclusion(const Hash& leaf_hash, std::uint64_t index, std::uint64_t size,
                      const std::vector<Hash>& proof, const Hash& root);

/// RFC 9162 §2.1.4.2: true when `proof` shows that the tree of old_size leaves with root old_root is a prefix
/// of the tree of new_size leaves with root new_root. Cases the RFC leaves to the caller:
/// - old_size > new_size: false;
/// - old_size == new_size (0 included): true iff the proof is empty and old_root == new_root;
/// - old_size == 0 < new_size: true iff the proof is empty (RFC 9162: the empty tree is a prefix of every
/// tree
///   and has no proof) and old_root is the empty tree's root, empty_root(); new_root is not constrained.
/// Proofs longer than kMaxConsistencyProof are rejected unread. Throws only if OpenSSL fails.
bool verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                        const Hash& new_root, const std::vector<Hash>& proof);

}  // namespace merkle
}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/merkle-inl.hpp"
#endif
