// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file proof_bundle.hpp
/// Proof bundles (docs/log-format.md §11.2): one self-contained JCS object that lets anybody check one fact
/// about a log offline, without the log: that a record is in the tree a signed checkpoint commits to
/// (inclusion), or that one signed checkpoint extends another (consistency).
///
/// Making a bundle reads the log directory and its tree cache (tree_store.hpp); checking one needs only the
/// bundle, the trusted verifier keys and, optionally, the auditor's MAC seed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fooocus_audit/common.hpp"
#include "fooocus_audit/signed_note.hpp"

namespace fooocus_audit {

/// The `bundle` member of an inclusion bundle.
inline constexpr std::string_view kInclusionBundle = "fooocus-audit/inclusion/v1";
/// The `bundle` member of a consistency bundle.
inline constexpr std::string_view kConsistencyBundle = "fooocus-audit/consistency/v1";
/// Largest bundle check_bundle() reads: a 16 MiB record escaped as a JSON string, two notes and a proof.
inline constexpr std::size_t kMaxBundleBytes = 40u << 20;

/// Where make_inclusion_bundle() and find_checkpoint() take signed checkpoints from.
struct ProveOptions {
  /// An anchor file (§5.2). Empty: the log's own log.checkpoint records.
  std::string anchor_file;
  /// Inclusion: take the newest (largest) checkpoint of the anchor file that covers the record instead of
  /// the smallest one. The log's own records always give the newest signed checkpoint.
  bool newest = false;
};

/// The complete inclusion bundle of record `seq` of the log in `log_dir`:
/// `{"bundle":"fooocus-audit/inclusion/v1","checkpoint":<note>,"proof":[<64 hex>...],"record":<record
/// bytes>}`.
///
/// Reads only the segment that holds the record, takes a signed checkpoint of a tree size > seq (see
/// ProveOptions), and builds the proof from the tree cache `<log_dir>/tree/` (opened writable and brought up
/// to date with the log; when the directory is not writable or the cache is locked, from a read-only cache
/// that is large enough, else from the log's records in memory). The bundle is checked before it is returned
/// (record hash, log id, proof against the checkpoint root; signatures are not checked here), so a stale or
/// altered cache or log never yields a bad bundle. Errors: not_found (no such record; no signed checkpoint
/// covers it yet — the message says how many records the newest one covers), invalid_argument (a malformed
/// anchor file), corruption (the cache or the log does not match the checkpoint, or the log holds fewer
/// records than it covers; the message names the cause and what to do), io_error. Not thread-safe with
/// respect to other writable users of the same tree cache (Code::locked is avoided by falling back to a
/// read-only computation).
Result<std::string> make_inclusion_bundle(const std::string& log_dir, std::uint64_t seq,
                                          const ProveOptions& options = {});

/// The consistency bundle between two signed checkpoint notes of the log in `log_dir`:
/// `{"bundle":"fooocus-audit/consistency/v1","new":<note>,"old":<note>,"proof":[<64 hex>...]}`.
/// Both must be checkpoints of the same origin `<name>/<log_id of the log>`, old size <= new size. The roots
/// of the log's tree at both sizes must equal the notes' roots (else corruption: the note is of a fork, or
/// the log or its tree cache was altered). Errors: invalid_argument (malformed notes, other origins, sizes
/// out of order), corruption (also when the log holds fewer records than the new checkpoint), not_found,
/// io_error.
Result<std::string> make_consistency_bundle(const std::string& log_dir, std::string_view old_note,
                                            std::string_view new_note);

/// The signed checkpoint note of tree size `size` (nullopt: the newest signed one) from options.anchor_file,
/// or else from the log's own log.checkpoint records (record `size` is the checkpoint of size `size`).
/// Errors: not_found, invalid_argument, io_error.
Result<std::string> find_checkpoint(const std::string& log_dir, std::optional<std::uint64_t> size,
                                    const ProveOptions& options = {});

/// The outcome of check_bundle(). A bundle proves its fact only when `ok`.
struct BundleCheck {
  bool ok = false;
  std::string kind;  ///< "inclusion" or "consistency" ("" when the bundle could not be parsed)
  /// On failure, a reason code: "bad_json" (not canonical JSON), "bad_bundle" (members, types or sizes),
  /// "record_invalid", "checkpoint_invalid" (a note that is not a signed checkpoint), "signature_invalid" (a
  /// trusted key's signature fails), "untrusted_key" (no signature by a trusted key), "origin_mismatch",
  /// "inclusion_invalid", "consistency_invalid", "mac_missing", "mac_invalid".
  std::string reason;
  std::string detail;                    ///< one line for people
  std::uint64_t seq = 0;                 ///< inclusion: the record's seq
  std::string log_id;                    ///< the record's log id (inclusion) or the origin's (consistency)
  std::string origin;                    ///< checkpoint origin
  std::uint64_t tree_size = 0;           ///< inclusion: checkpoint size; consistency: the new size
  std::uint64_t old_size = 0;            ///< consistency: the old size
  std::vector<std::string> checked;      ///< the guarantees that were checked, one phrase each
  std::vector<std::string> not_checked;  ///< those that could not be, and why
  std::vector<std::string> signed_by;    ///< key labels (name+id) of the trusted signatures that verified
};

/// Checks a bundle offline (§11.2). Strict: the bundle must be canonical JSON (one final LF is tolerated)
/// with exactly the members of its kind, notes of at most note::kMaxNoteBytes, a record of at most 16 MiB, at
/// most 64 (inclusion) or 128 (consistency) proof hashes. Inclusion: the record is a canonical record, its
/// leaf hash and seq go into merkle::verify_inclusion against the checkpoint root, seq < size, origin
/// `<key name>/<log_id of the record>`. With `trusted` keys every note needs a valid signature by one of them
/// and no failing one (and the origin's key name must be that of a verifying key); without keys, signatures
/// are reported in not_checked. With `mac_key_path` (the auditor's seed, or a writer state file of an epoch
/// not after the record's) the record's MAC is checked too. A bundle that fails a check is a BundleCheck with
/// ok == false and a reason, not an error. Errors (Status): an invalid trusted key list, a MAC key file that
/// cannot be read or belongs to another log.
Result<BundleCheck> check_bundle(std::string_view bundle_json, const std::vector<note::VerifierKey>& trusted,
                                 const std::string& mac_key_path = std::string());

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/proof_bundle-inl.hpp"
#endif
