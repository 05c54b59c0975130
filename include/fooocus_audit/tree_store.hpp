// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file tree_store.hpp
/// A cache of the log's Merkle tree on disk, beside the log, that makes inclusion and consistency proofs cost
/// O(log n) reads however long the log is.
///
/// Layout, in `<log dir>/tree/` (not part of the log: the verifier never reads it):
///
///     tree/LOCK            flock(2) held by the one writable TreeStore (two provers never append at once)
///     tree/level-00.bin    the leaf hashes (= chain hashes of records 0, 1, ...), 32 bytes each
///     tree/level-01.bin    roots of the perfect subtrees of 2 leaves, in order
///     tree/level-KK.bin    roots of the perfect subtrees of 2^KK leaves: exactly floor(size / 2^KK) of them
///
/// Nothing else is stored: the size is the number of leaves in level-00.bin, and level KK's node i is MTH of
/// leaves [i·2^KK, (i+1)·2^KK). Everything in tree/ may be stale or altered by whoever can write the log
/// directory. A proof made from it is only as good as the signed checkpoint (or anchor) it is verified
/// against, which is exactly how proofs are meant to be used: verify_inclusion / verify_consistency against a
/// root the verifier trusts, never against root() of this store.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/merkle.hpp"

namespace fooocus_audit {

/// What TreeStore::sync_from_log() read and where it stopped.
struct TreeSyncReport {
  std::uint64_t appended = 0;  ///< leaves added by this call
  std::uint64_t size = 0;      ///< leaves in the store afterwards (all of them durable)
  /// True when every line of every segment was a valid record that continued the chain: nothing was left.
  bool at_end = false;
  /// Why it stopped before the end (empty when at_end): "torn_record" (bytes without LF), "record_too_large",
  /// a record::ParseError name ("bad_json", "non_canonical", "bad_record", "unknown_version"),
  /// "sequence" (seq is not the next number), "log_id_mismatch", "genesis_mismatch", "broken_link" (prev is
  /// not the chain hash of the record before), "missing_segment" (the log does not start at seq 0), or
  /// "store_mismatch" (the store's last leaf is not the log's record: the store is stale or was altered).
  std::string stopped_reason;
  std::string stopped_segment;       ///< segment file name where it stopped
  std::uint64_t stopped_offset = 0;  ///< byte offset in that segment of the line it stopped on
  std::uint64_t stopped_seq = 0;     ///< sequence number it expected there
  /// True when the line it stopped on is the end of the log (nothing but empty segments follows): a torn or
  /// invalid tail, normally left by a crash or by a writer still appending. Not an error.
  bool stopped_at_tail = false;
  std::string detail;  ///< one line for people
};

/// The Merkle tree of a log directory, stored in `<log dir>/tree/` (see the file comment). Implements
/// merkle::NodeSource with one pread per perfect subtree, so a proof for a 10-million-record log reads about
/// 2·log2(n) nodes.
///
/// Not thread-safe: one thread at a time, except that const members may run concurrently with each other.
/// Several read-only stores and one writable store may be open on the same directory, in any processes; a
/// read-only store sees the size the directory had when it was opened.
class TreeStore final : public merkle::NodeSource {
 public:
  /// Opens `<log_dir>/tree/`. Writable: creates it (mode 0700) if missing, takes tree/LOCK (Code::locked when
  /// another writable store holds it), and repairs what a crash can leave: a level file whose length is not a
  /// multiple of 32, whole-zero nodes at the end of a file, or levels inconsistent with each other are
  /// truncated to the largest size all levels agree on (repair_note() says what was cut; sync_from_log()
  /// re-appends it from the log). Read-only: not_found when tree/ does not exist; nothing is modified, the
  /// consistent size is used. io_error when a file cannot be opened or read.
  static Result<TreeStore> open(const std::string& log_dir, bool writable);

  TreeStore(TreeStore&&) noexcept = default;
  TreeStore& operator=(TreeStore&&) noexcept = default;
  TreeStore(const TreeStore&) = delete;
  TreeStore& operator=(const TreeStore&) = delete;
  /// Closes the files and releases the lock. Appends not yet flush()ed may or may not be on disk: the next
  /// open keeps a consistent prefix of them.
  ~TreeStore() override = default;

  /// Leaves in the store, appended ones included (flushed or not).
  std::uint64_t size() const noexcept override { return size_; }
  /// MTH of the perfect subtree (level, index): one pread, or memory for nodes not yet written.
  /// invalid_argument out of range; io_error / corruption (short file) when the read fails.
  Result<Hash> node(unsigned level, std::uint64_t index) const override;

  /// Appends leaf hashes (buffered; writes, without fdatasync, once about 2 MiB of leaves are pending).
  /// Amortized cost per leaf: one node hash and 64 bytes written. invalid_argument on a read-only store;
  /// io_error when a write fails (what was not written stays pending and is retried by the next call).
  Status append(const Hash* leaves, std::size_t n);
  /// Writes everything pending and fdatasyncs every level file written since the last flush.
  Status flush();

  /// MTH of the first `size` leaves (empty_root() for 0): the in-memory frontier for size(), otherwise
  /// popcount(size) reads. invalid_argument when size > size().
  Result<Hash> root(std::uint64_t size) const;
  /// Leaf hash `index` (the chain hash of record `index`). invalid_argument when index >= size().
  Result<Hash> leaf(std::uint64_t index) const;
  /// merkle::inclusion_proof over this store.
  Result<std::vector<Hash>> inclusion_proof(std::uint64_t index, std::uint64_t size) const;
  /// merkle::consistency_proof over this store.
  Result<std::vector<Hash>> consistency_proof(std::uint64_t old_size, std::uint64_t new_size) const;

  /// Appends the records of the log that follow the store's last leaf, then flushes. First checks that the
  /// log's record size()-1 still has the chain hash the store holds for it; then, for each record from size()
  /// on: it parses (docs/log-format.md §8.2 steps 1-5), has the next seq, the log's log_id, and `prev` equal
  /// to the chain hash before it (the genesis hash for record 0). It stops at the first line that fails and
  /// fills `report` (optional) with what it stopped on. Returns:
  /// - ok when it reached the end of the log, or stopped at its tail (a torn or invalid last line);
  /// - corruption, keeping every valid record before it, when an invalid record is followed by more of the
  /// log
  ///   (run the verifier on the log);
  /// - corruption ("store_mismatch") when the store does not match the log: its last leaf differs from the
  ///   log's record, or the log is shorter than the store. The message tells to delete tree/ or call
  ///   rebuild();
  /// - invalid_argument on a read-only store; io_error / not_found when the log cannot be read.
  Status sync_from_log(TreeSyncReport* report = nullptr);
  /// Truncates every level to nothing (fdatasynced) and runs sync_from_log().
  Status rebuild(TreeSyncReport* report = nullptr);

  /// Checks every stored node against its children (level k+1 node i = node_hash(level k nodes 2i, 2i+1)),
  /// reading each level file once, sequentially: O(size) hashes. corruption naming the first bad node.
  Status check() const;

  /// `<log dir>/tree`.
  const std::string& dir() const noexcept { return dir_; }
  bool writable() const noexcept { return writable_; }
  /// What open() cut off to make the levels consistent; empty when nothing.
  const std::string& repair_note() const noexcept { return repair_note_; }

 private:
  struct Level {
    Level() = default;
    Level(Level&& o) noexcept;
    Level& operator=(Level&& o) noexcept;
    Level(const Level&) = delete;
    Level& operator=(const Level&) = delete;
    ~Level();
    int fd = -1;
    std::uint64_t written = 0;  ///< nodes in the file (written, fdatasynced or not)
    std::vector<Hash> pending;  ///< nodes after `written`, not yet written
    bool unsynced = false;      ///< written since the last fdatasync
  };

  TreeStore() = default;
  std::string level_path(unsigned level) const;
  Status open_level(unsigned level, bool create);
  Status write_pending();
  Status truncate_all();
  Status load_frontier();

  std::string log_dir_;
  std::string dir_;
  bool writable_ = false;
  detail::DirLock lock_;
  std::vector<Level> levels_;   // 64 of them
  std::vector<Hash> frontier_;  // roots of the perfect subtrees of size_, largest first (as merkle::Frontier)
  std::uint64_t size_ = 0;
  bool dir_unsynced_ = false;  // a level file was created since the last flush
  std::string repair_note_;
};

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/tree_store-inl.hpp"
#endif
