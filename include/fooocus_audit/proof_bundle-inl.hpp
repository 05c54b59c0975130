// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/proof_bundle.hpp"
#endif

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "fooocus_audit/anchor.hpp"
#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/mac_key.hpp"
#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/record.hpp"
#include "fooocus_audit/tree_store.hpp"

namespace fooocus_audit {
namespace bundle_impl {

/// Epochs check_bundle() evolves a MAC key at most (one HMAC each, about a minute in all): a record claiming
/// a later epoch is reported as not checked instead of keeping the checker busy for years.
inline constexpr std::uint64_t kMaxMacEvolutions = std::uint64_t{1} << 26;

inline Result<std::vector<detail::SegmentInfo>> segments_of(const std::string& log_dir) {
  Result<std::vector<detail::SegmentInfo>> segs = detail::list_segments(log_dir);
  if (!segs) return segs.status();
  if (segs->empty())
    return Status(Code::not_found, fmt::format("{}: no segment files: not a log directory", log_dir));
  return segs;
}

/// Calls f(line, index) for every LF-terminated line of bytes until f returns false.
template <typename F>
void for_each_line(std::string_view bytes, F&& f) {
  std::size_t at = 0, index = 0;
  for (;;) {
    const std::size_t nl = bytes.find('\n', at);
    if (nl == std::string_view::npos) return;
    if (!f(bytes.substr(at, nl - at), index++)) return;
    at = nl + 1;
  }
}

/// The first complete line of a file (at most record::kMaxRecordBytes), or "" when it has none.
inline Result<std::string> first_line(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detail::errno_status(fmt::format("open {}", path), errno);
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return detail::errno_status(fmt::format("read {}", path), err);
    }
    const std::string_view chunk(buf, static_cast<std::size_t>(n));
    const std::size_t nl = chunk.find('\n');
    out.append(chunk.substr(0, nl));
    if (n == 0 || nl != std::string_view::npos || out.size() > record::kMaxRecordBytes) {
      ::close(fd);
      if (nl == std::string_view::npos) out.clear();
      return out;
    }
  }
}

/// The log id of a log: that of the first record of the first segment holding one.
inline Result<std::string> log_id_of(const std::vector<detail::SegmentInfo>& segs) {
  for (const detail::SegmentInfo& s : segs) {
    Result<std::string> line = first_line(s.path);
    if (!line) return line.status();
    if (line->empty()) continue;
    record::View v;
    if (!record::parse(line.value(), &v))
      return Status(
          Code::corruption,
          fmt::format("{}: the first line is not a valid record: run fooocus-audit verify", s.name));
    return std::string(v.log_id);
  }
  return Status(Code::not_found, "the log holds no record");
}

/// The bytes of record `seq` (without LF), read from the one segment whose name says it holds it.
inline Result<std::string> read_record(const std::vector<detail::SegmentInfo>& segs, std::uint64_t seq) {
  auto it =
      std::upper_bound(segs.begin(), segs.end(), seq,
                       [](std::uint64_t s, const detail::SegmentInfo& info) { return s < info.first_seq; });
  if (it == segs.begin())
    return Status(Code::not_found,
                  fmt::format("record {} is not in the log: its first segment starts at seq {}", seq,
                              segs.front().first_seq));
  const detail::SegmentInfo& seg = *--it;
  Result<std::string> bytes = detail::read_file(seg.path);
  if (!bytes) return bytes.status();
  const std::uint64_t want_index = seq - seg.first_seq;
  std::optional<std::string> found;
  std::uint64_t lines = 0;
  // Normally record seq is line seq - first_seq; if the segment is damaged, look at every line.
  for_each_line(bytes.value(), [&](std::string_view line, std::size_t index) {
    ++lines;
    if (index != want_index) return true;
    record::View v;
    if (record::parse(line, &v) && v.seq == seq) found = std::string(line);
    return false;
  });
  if (!found) {
    lines = 0;
    for_each_line(bytes.value(), [&](std::string_view line, std::size_t) {
      ++lines;
      record::View v;
      if (record::parse(line, &v) && v.seq == seq) {
        found = std::string(line);
        return false;
      }
      return true;
    });
  }
  if (!found)
    return Status(Code::not_found, fmt::format("record {} is not in the log: {} holds {} line(s) from seq {}",
                                               seq, seg.name, lines, seg.first_seq));
  return std::move(*found);
}

/// A signed checkpoint: its note and its parsed body.
struct SignedCheckpoint {
  std::string note;
  note::Checkpoint body;
};

inline Result<note::Checkpoint> checkpoint_body(std::string_view note_text) {
  Result<note::Note> n = note::parse_note(note_text);
  if (!n) return n.status();
  return note::parse_checkpoint(n->text);
}

/// True when origin is "<valid key name>/<log_id>"; *name receives the key name.
inline bool split_origin(std::string_view origin, std::string_view log_id, std::string_view* name) {
  if (origin.size() < log_id.size() + 2) return false;
  const std::size_t slash = origin.size() - log_id.size() - 1;
  if (origin[slash] != '/' || origin.substr(slash + 1) != log_id) return false;
  *name = origin.substr(0, slash);
  return note::valid_key_name(*name);
}

/// The checkpoint anchors of `path` for log `log_id` whose note is a checkpoint of that log.
inline Result<std::vector<SignedCheckpoint>> anchor_checkpoints(const std::string& path,
                                                                const std::string& log_id) {
  Result<AnchorSet> set = AnchorSet::load(path);
  if (!set) return set.status();
  std::vector<SignedCheckpoint> out;
  for (const CheckpointAnchor& a : set->checkpoints) {
    if (a.log_id != log_id) continue;
    Result<note::Checkpoint> body = checkpoint_body(a.note);
    std::string_view name;
    if (!body || !split_origin(body->origin, log_id, &name)) continue;  // the verifier reports those
    out.push_back({a.note, std::move(body.value())});
  }
  return out;
}

/// The signed checkpoint carried by a record line, if it is a well-formed log.checkpoint record with a note.
inline std::optional<SignedCheckpoint> checkpoint_in_line(std::string_view line) {
  if (line.find(R"("log.checkpoint")") == std::string_view::npos) return std::nullopt;
  record::View v;
  if (!record::parse(line, &v) || v.event_type != "log.checkpoint") return std::nullopt;
  const nlohmann::json ev = nlohmann::json::parse(v.event, nullptr, /*allow_exceptions=*/false);
  if (!ev.is_object() || !ev.contains("note") || !ev["note"].is_string()) return std::nullopt;
  SignedCheckpoint c;
  c.note = ev["note"].get<std::string>();
  Result<note::Checkpoint> body = checkpoint_body(c.note);
  std::string_view name;
  if (!body || body->size != v.seq || !split_origin(body->origin, v.log_id, &name)) return std::nullopt;
  c.body = std::move(body.value());
  return c;
}

/// The newest signed checkpoint record of the log, scanning segments from the newest backwards. With `cover`,
/// it stops as soon as no older segment can hold a checkpoint of a size > *cover (nullopt then means none
/// covers it).
inline Result<std::optional<SignedCheckpoint>> newest_log_checkpoint(
    const std::vector<detail::SegmentInfo>& segs, std::optional<std::uint64_t> cover) {
  for (auto it = segs.rbegin(); it != segs.rend(); ++it) {
    Result<std::string> bytes = detail::read_file(it->path);
    if (!bytes) return bytes.status();
    std::optional<SignedCheckpoint> last;
    for_each_line(bytes.value(), [&](std::string_view line, std::size_t) {
      if (std::optional<SignedCheckpoint> c = checkpoint_in_line(line)) last = std::move(c);
      return true;
    });
    if (last) return last;
    // A checkpoint of size p is record p; every record before this segment has a seq below its first_seq.
    if (cover && it->first_seq <= *cover + 1) break;
  }
  return std::optional<SignedCheckpoint>();
}

/// The Merkle tree of the log, from the cache in <log_dir>/tree/ or, failing that, from the records in
/// memory.
struct Tree {
  std::optional<TreeStore> store;
  std::vector<Hash> leaves;  // when store is empty
  bool cached = false;       // the tree comes from tree/ (may be stale or altered), not straight from the log
};

/// Leaf hashes of records 0 .. needed-1 read straight from the segments (no validation: the caller checks the
/// result against a signed root).
inline Status leaves_from_log(const std::vector<detail::SegmentInfo>& segs, std::uint64_t needed,
                              std::vector<Hash>* leaves) {
  leaves->clear();
  std::string partial;
  bool too_long = false;
  for (const detail::SegmentInfo& seg : segs) {
    if (leaves->size() >= needed) break;
    if (seg.first_seq != leaves->size())
      return Status(Code::corruption,
                    fmt::format("{} starts at seq {} but {} records precede it: run fooocus-audit "
                                "verify",
                                seg.name, seg.first_seq, leaves->size()));
    const int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return detail::errno_status(fmt::format("open {}", seg.path), errno);
    partial.clear();
    Status s = detail::read_chunks(
        fd, 1u << 20,
        [&](std::string_view chunk) {
          while (!chunk.empty() && leaves->size() < needed) {
            const std::size_t nl = chunk.find('\n');
            if (nl == std::string_view::npos) {
              if (partial.size() + chunk.size() > record::kMaxRecordBytes)
                too_long = true;
              else
                partial.append(chunk);
              return;
            }
            if (partial.empty()) {
              leaves->push_back(record::chain_hash(chunk.substr(0, nl)));
            } else {
              partial.append(chunk.substr(0, nl));
              leaves->push_back(record::chain_hash(partial));
              partial.clear();
            }
            chunk.remove_prefix(nl + 1);
          }
        },
        seg.path);
    ::close(fd);
    if (!s) return s;
    if (too_long)
      return Status(
          Code::corruption,
          fmt::format("{} holds a line longer than any record: run fooocus-audit verify", seg.name));
  }
  return {};
}

/// Opens (and brings up to date) the tree cache, or computes the tree in memory when the cache cannot be
/// written and a read-only one is too small. Fails with corruption when the log holds fewer than `needed`
/// records.
inline Status open_tree(Tree& t, const std::string& log_dir, const std::vector<detail::SegmentInfo>& segs,
                        std::uint64_t needed) {
  Result<TreeStore> w = TreeStore::open(log_dir, /*writable=*/true);
  if (w) {
    TreeSyncReport rep;
    if (Status s = w->sync_from_log(&rep); !s)
      return Status(s.code(), fmt::format("tree cache {}/tree: {}", log_dir, s.message()));
    if (w->size() < needed)
      return Status(
          Code::corruption,
          fmt::format("the log holds {} valid records from seq 0 but the checkpoint covers {}{}: records "
                      "were removed or damaged (run fooocus-audit verify)",
                      w->size(), needed, rep.detail.empty() ? "" : " (" + rep.detail + ")"));
    t.store.emplace(std::move(w.value()));
    t.cached = true;
    return {};
  }
  if (w.status().code() != Code::io_error && w.status().code() != Code::locked) return w.status();
  // Not writable (a read-only copy of the log, a locked cache): a read-only cache if it is large enough, else
  // the records themselves.
  if (Result<TreeStore> r = TreeStore::open(log_dir, /*writable=*/false); r && r->size() >= needed) {
    t.store.emplace(std::move(r.value()));
    t.cached = true;
    return {};
  }
  if (Status s = leaves_from_log(segs, needed, &t.leaves); !s) return s;
  if (t.leaves.size() < needed)
    return Status(Code::corruption,
                  fmt::format("the log holds {} records but the checkpoint covers {}: records were "
                              "removed (run fooocus-audit verify)",
                              t.leaves.size(), needed));
  return {};
}

inline std::string stale_hint(const Tree& t, const std::string& log_dir) {
  return t.cached ? fmt::format(
                        "either the tree cache {}/tree is stale or was altered (delete it and retry) or the "
                        "log was rewritten (run fooocus-audit verify with the checkpoint as anchor)",
                        log_dir)
                  : "the log was rewritten, or the checkpoint is of another history (run fooocus-audit "
                    "verify with "
                    "the checkpoint as anchor)";
}

inline nlohmann::json hex_list(const std::vector<Hash>& hashes) {
  nlohmann::json a = nlohmann::json::array();
  for (const Hash& h : hashes) a.push_back(detail::to_hex(h));
  return a;
}

// --- checking
// ----------------------------------------------------------------------------------------------------

inline bool fail(BundleCheck& c, std::string reason, std::string detail) {
  c.ok = false;
  c.reason = std::move(reason);
  c.detail = std::move(detail);
  return false;
}

/// A note of a bundle: a checkpoint body, signed by a trusted key when keys are given. `which` names it in
/// messages. *error receives a Status when the trusted list itself is invalid.
inline bool check_note(BundleCheck& c, std::string_view which, std::string_view text,
                       const std::vector<note::VerifierKey>& trusted, note::Checkpoint* body,
                       std::vector<const note::VerifierKey*>* verified, Status* error) {
  Result<note::Note> n = note::parse_note(text);
  if (!n)
    return fail(c, "checkpoint_invalid",
                fmt::format("{} is not a signed note: {}", which, n.status().message()));
  Result<note::Checkpoint> cp = note::parse_checkpoint(n->text);
  if (!cp)
    return fail(c, "checkpoint_invalid",
                fmt::format("{} is not a checkpoint: {}", which, cp.status().message()));
  *body = std::move(cp.value());
  verified->clear();
  if (trusted.empty()) return true;
  Result<note::NoteVerification> v = note::verify_note(text, trusted);
  if (!v) {
    *error = Status(v.status().code(), fmt::format("trusted keys: {}", v.status().message()));
    return false;
  }
  if (v->bad_signature)
    return fail(c, "signature_invalid",
                fmt::format("a signature of {} by a trusted key does not verify", which));
  if (v->verified_by.empty())
    return fail(
        c, "untrusted_key",
        fmt::format("{} carries no signature by a trusted key (signed by: {})", which,
                    v->unknown_signers.empty() ? std::string("nobody")
                                               : fmt::format("{}", fmt::join(v->unknown_signers, ", "))));
  for (const std::string& k : v->verified_by)
    for (const note::VerifierKey& t : trusted)
      if (t.text() == k) {
        verified->push_back(&t);
        const std::string label = note::key_label(t.name, t.id);
        if (std::find(c.signed_by.begin(), c.signed_by.end(), label) == c.signed_by.end())
          c.signed_by.push_back(label);
        break;
      }
  return true;
}

/// The origin is "<name>/<log_id>", and with trusted keys <name> is the name of a key that verified the note.
inline bool check_origin(BundleCheck& c, std::string_view which, const note::Checkpoint& body,
                         std::string_view log_id, const std::vector<const note::VerifierKey*>& verified,
                         bool keys_given) {
  std::string_view name;
  if (!split_origin(body.origin, log_id, &name))
    return fail(c, "origin_mismatch",
                fmt::format("the origin of {} is not \"<key name>/{}\"", which, log_id));
  if (!keys_given) return true;
  for (const note::VerifierKey* k : verified)
    if (k->name == name) return true;
  return fail(c, "origin_mismatch",
              fmt::format("the origin of {} names key \"{}\", which is not the trusted key that signed it",
                          which, name));
}

/// Parses the proof array (already known to hold at most `max` strings).
inline bool parse_proof(BundleCheck& c, const nlohmann::json& a, std::size_t max, std::vector<Hash>* out) {
  if (!a.is_array() || a.size() > max)
    return fail(c, "bad_bundle", fmt::format("proof must be an array of at most {} hashes", max));
  out->clear();
  for (const nlohmann::json& h : a) {
    Hash x{};
    if (!h.is_string() || !detail::parse_hash_hex(h.get_ref<const std::string&>(), &x))
      return fail(c, "bad_bundle", "proof hashes must be 64 lowercase hex characters");
    out->push_back(x);
  }
  return true;
}

inline bool note_member(BundleCheck& c, const nlohmann::json& j, const char* name) {
  if (!j[name].is_string() || j[name].get_ref<const std::string&>().size() > note::kMaxNoteBytes)
    return fail(c, "bad_bundle",
                fmt::format("{} must be a signed note of at most {} bytes", name, note::kMaxNoteBytes));
  return true;
}

inline void check_signature_phrase(BundleCheck& c, bool keys_given, std::string_view what) {
  if (keys_given)
    c.checked.push_back(
        fmt::format("signature: {} signed by trusted key {}", what, fmt::join(c.signed_by, ", ")));
  else
    c.not_checked.push_back(
        fmt::format("signature: no trusted keys given, so anybody could have made {}", what));
}

/// The record's MAC (§9.1). Returns false with c failed, or with *error set when the key file cannot be used.
inline bool check_mac(BundleCheck& c, std::string_view rec, const record::View& v,
                      const std::string& mac_key_path, Status* error) {
  if (mac_key_path.empty()) {
    if (v.has_mac)
      c.not_checked.push_back(
          fmt::format("mac: the record carries a MAC (epoch {}); no MAC key given", v.mac_epoch));
    else
      c.not_checked.push_back("mac: the record carries no MAC");
    return true;
  }
  if (!v.has_mac)
    return fail(c, "mac_missing",
                "a MAC key was given but the record carries no MAC (stripped, or a log without MACs)");
  if (v.mac_epoch > v.seq)
    return fail(c, "mac_invalid",
                fmt::format("MAC epoch {} is impossible for record {}", v.mac_epoch, v.seq));
  Result<mac::EpochKey> key = mac::EpochKey::load(mac_key_path, v.log_id);
  if (!key) {
    *error = key.status();
    return false;
  }
  if (v.mac_epoch < key->epoch()) {
    c.not_checked.push_back(
        fmt::format("mac: the key file is at epoch {}, after the record's epoch {} (give the seed)",
                    key->epoch(), v.mac_epoch));
    return true;
  }
  if (v.mac_epoch - key->epoch() > kMaxMacEvolutions) {
    c.not_checked.push_back(fmt::format("mac: epoch {} is too far from the key's epoch {} to evolve to",
                                        v.mac_epoch, key->epoch()));
    return true;
  }
  Result<mac::EpochKey> k = key->forward_to(v.mac_epoch);
  if (!k) {
    *error = k.status();
    return false;
  }
  detail::Sha256 sha;
  const std::uint8_t leaf_prefix = 0x00;
  sha.update(&leaf_prefix, 1);
  sha.update(rec.substr(0, v.mac_begin));
  sha.update(rec.substr(v.mac_end));
  const Hash d = sha.final();
  mac::RecordMac m(k.value());
  if (!m.check(d, v.mac_tag.data()))
    return fail(
        c, "mac_invalid",
        fmt::format("the MAC of record {} (epoch {}) does not verify with the key", v.seq, v.mac_epoch));
  c.checked.push_back(fmt::format("mac: record MAC verified with the auditor's key (epoch {})", v.mac_epoch));
  return true;
}

inline Result<BundleCheck> check_inclusion(BundleCheck c, const nlohmann::json& j,
                                           const std::vector<note::VerifierKey>& trusted,
                                           const std::string& mac_key_path) {
  c.kind = "inclusion";
  Status error;
  auto done = [&]() -> Result<BundleCheck> {
    if (!error) return error;
    return c;
  };
  if (!j["record"].is_string() ||
      j["record"].get_ref<const std::string&>().size() > record::kMaxRecordBytes) {
    fail(c, "bad_bundle", "record must be a string of at most 16 MiB");
    return c;
  }
  if (!note_member(c, j, "checkpoint")) return c;
  std::vector<Hash> proof;
  if (!parse_proof(c, j["proof"], merkle::kMaxInclusionProof, &proof)) return c;

  const std::string& rec = j["record"].get_ref<const std::string&>();
  record::View v;
  if (record::ParseResult pr = record::parse(rec, &v); !pr) {
    fail(c, "record_invalid",
         fmt::format("the record is not a valid record: {} at byte {}: {}",
                     record::parse_error_name(pr.error), pr.offset, pr.detail));
    return c;
  }
  c.seq = v.seq;
  c.log_id = std::string(v.log_id);
  const Hash leaf = record::chain_hash(rec);
  c.checked.push_back(fmt::format("record: canonical record {} of log {}, leaf hash {}", v.seq, v.log_id,
                                  detail::to_hex(leaf)));

  note::Checkpoint cp;
  std::vector<const note::VerifierKey*> verified;
  if (!check_note(c, "the checkpoint", j["checkpoint"].get_ref<const std::string&>(), trusted, &cp, &verified,
                  &error))
    return done();
  c.origin = cp.origin;
  c.tree_size = cp.size;
  if (!check_origin(c, "the checkpoint", cp, v.log_id, verified, !trusted.empty())) return c;
  check_signature_phrase(c, !trusted.empty(), fmt::format("the checkpoint of size {}", cp.size));
  c.checked.push_back(fmt::format("origin: {} names the record's log", cp.origin));

  if (v.seq >= cp.size) {
    fail(c, "inclusion_invalid",
         fmt::format("record {} is not below the checkpoint's tree size {}: the checkpoint does not cover it",
                     v.seq, cp.size));
    return c;
  }
  if (!merkle::verify_inclusion(leaf, v.seq, cp.size, proof, cp.root)) {
    fail(c, "inclusion_invalid",
         fmt::format(
             "the proof ({} hashes) does not lead from record {} to the root of the checkpoint of size {}",
             proof.size(), v.seq, cp.size));
    return c;
  }
  c.checked.push_back(
      fmt::format("inclusion: record {} is leaf {} of the tree of size {} whose root the checkpoint "
                  "states ({} proof hashes)",
                  v.seq, v.seq, cp.size, proof.size()));
  if (!check_mac(c, rec, v, mac_key_path, &error)) return done();
  c.ok = true;
  return c;
}

inline Result<BundleCheck> check_consistency(BundleCheck c, const nlohmann::json& j,
                                             const std::vector<note::VerifierKey>& trusted,
                                             const std::string& mac_key_path) {
  c.kind = "consistency";
  Status error;
  auto done = [&]() -> Result<BundleCheck> {
    if (!error) return error;
    return c;
  };
  if (!note_member(c, j, "old") || !note_member(c, j, "new")) return c;
  std::vector<Hash> proof;
  if (!parse_proof(c, j["proof"], merkle::kMaxConsistencyProof, &proof)) return c;

  note::Checkpoint old_cp, new_cp;
  std::vector<const note::VerifierKey*> old_keys, new_keys;
  if (!check_note(c, "the old checkpoint", j["old"].get_ref<const std::string&>(), trusted, &old_cp,
                  &old_keys, &error))
    return done();
  if (!check_note(c, "the new checkpoint", j["new"].get_ref<const std::string&>(), trusted, &new_cp,
                  &new_keys, &error))
    return done();
  c.origin = new_cp.origin;
  c.old_size = old_cp.size;
  c.tree_size = new_cp.size;
  if (old_cp.origin != new_cp.origin) {
    fail(c, "origin_mismatch", "the two checkpoints have different origins: they are of different logs");
    return c;
  }
  const std::size_t slash = new_cp.origin.rfind('/');
  c.log_id = slash == std::string::npos ? std::string() : new_cp.origin.substr(slash + 1);
  if (!record::valid_log_id(c.log_id)) {
    fail(c, "origin_mismatch", "the origin is not \"<key name>/<log_id>\"");
    return c;
  }
  if (!check_origin(c, "the old checkpoint", old_cp, c.log_id, old_keys, !trusted.empty()) ||
      !check_origin(c, "the new checkpoint", new_cp, c.log_id, new_keys, !trusted.empty()))
    return c;
  check_signature_phrase(c, !trusted.empty(), "both checkpoints");
  c.checked.push_back(fmt::format("origin: both checkpoints are of {}", new_cp.origin));
  if (old_cp.size > new_cp.size) {
    fail(c, "consistency_invalid",
         fmt::format("the old checkpoint (size {}) is larger than the new one (size {})", old_cp.size,
                     new_cp.size));
    return c;
  }
  if (!merkle::verify_consistency(old_cp.size, new_cp.size, old_cp.root, new_cp.root, proof)) {
    fail(c, "consistency_invalid",
         fmt::format(
             "the proof ({} hashes) does not show the tree of size {} to be a prefix of the tree of size {}: "
             "the histories differ (a fork or a rewrite)",
             proof.size(), old_cp.size, new_cp.size));
    return c;
  }
  c.checked.push_back(
      fmt::format("consistency: the tree of size {} is a prefix of the tree of size {} ({} proof "
                  "hashes)",
                  old_cp.size, new_cp.size, proof.size()));
  if (!mac_key_path.empty()) c.not_checked.push_back("mac: a consistency bundle carries no record");
  c.ok = true;
  return c;
}

inline Result<BundleCheck> check_bundle(std::string_view text, const std::vector<note::VerifierKey>& trusted,
                                        const std::string& mac_key_path) {
  BundleCheck c;
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.size() > kMaxBundleBytes) {
    fail(c, "bad_bundle", fmt::format("the bundle is larger than {} bytes", kMaxBundleBytes));
    return c;
  }
  const jcs::ScanResult scan = jcs::scan_object(text, nullptr, 0, /*max_depth=*/2);
  if (!scan) {
    fail(c, "bad_json",
         fmt::format("not canonical JSON ({} at byte {})", jcs::problem_name(scan.problem), scan.offset));
    return c;
  }
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    fail(c, "bad_json", "not a JSON object");
    return c;
  }
  if (!j.contains("bundle") || !j["bundle"].is_string()) {
    fail(c, "bad_bundle", "no \"bundle\" member naming the kind of bundle");
    return c;
  }
  const std::string& kind = j["bundle"].get_ref<const std::string&>();
  const bool inclusion = kind == kInclusionBundle;
  if (!inclusion && kind != kConsistencyBundle) {
    fail(c, "bad_bundle",
         "unknown bundle kind (expected fooocus-audit/inclusion/v1 or fooocus-audit/consistency/v1)");
    return c;
  }
  const std::vector<std::string> members =
      inclusion ? std::vector<std::string>{"bundle", "checkpoint", "proof", "record"}
                : std::vector<std::string>{"bundle", "new", "old", "proof"};
  bool exact = j.size() == members.size();
  for (const std::string& m : members) exact = exact && j.contains(m);
  if (!exact) {
    c.kind = inclusion ? "inclusion" : "consistency";
    fail(c, "bad_bundle",
         fmt::format("a {} bundle has exactly the members {}", c.kind, fmt::join(members, ", ")));
    return c;
  }
  return inclusion ? check_inclusion(std::move(c), j, trusted, mac_key_path)
                   : check_consistency(std::move(c), j, trusted, mac_key_path);
}

/// The bundle just made must check (without keys); anything else means the inputs were inconsistent.
inline Status self_check(const std::string& bundle) {
  Result<BundleCheck> c = check_bundle(bundle, {}, std::string());
  if (!c) return c.status();
  if (!c->ok)
    return Status(Code::corruption,
                  fmt::format("the bundle made does not check ({}: {})", c->reason, c->detail));
  return {};
}

}  // namespace bundle_impl

FA_INLINE Result<BundleCheck> check_bundle(std::string_view bundle_json,
                                           const std::vector<note::VerifierKey>& trusted,
                                           const std::string& mac_key_path) {
  try {
    return bundle_impl::check_bundle(bundle_json, trusted, mac_key_path);
  } catch (const std::exception& e) {
    return Status(Code::internal, fmt::format("check_bundle: {}", e.what()));
  }
}

FA_INLINE Result<std::string> find_checkpoint(const std::string& log_dir, std::optional<std::uint64_t> size,
                                              const ProveOptions& options) {
  using namespace bundle_impl;
  try {
    Result<std::vector<detail::SegmentInfo>> segs = segments_of(log_dir);
    if (!segs) return segs.status();
    if (!options.anchor_file.empty()) {
      Result<std::string> log_id = log_id_of(segs.value());
      if (!log_id) return log_id.status();
      Result<std::vector<SignedCheckpoint>> cps = anchor_checkpoints(options.anchor_file, log_id.value());
      if (!cps) return cps.status();
      const SignedCheckpoint* best = nullptr;
      for (const SignedCheckpoint& c : cps.value())
        if (size ? c.body.size == *size : (!best || c.body.size >= best->body.size)) best = &c;
      if (best == nullptr)
        return Status(Code::not_found, size ? fmt::format("{} holds no checkpoint of size {} for log {}",
                                                          options.anchor_file, *size, log_id.value())
                                            : fmt::format("{} holds no checkpoint for log {}",
                                                          options.anchor_file, log_id.value()));
      return best->note;
    }
    if (size) {
      Result<std::string> rec = read_record(segs.value(), *size);
      std::optional<SignedCheckpoint> c;
      if (rec) c = checkpoint_in_line(rec.value());
      if (!c)
        return Status(
            Code::not_found,
            fmt::format(
                "record {} of the log is not a signed checkpoint (a checkpoint of size N is record N)",
                *size));
      return c->note;
    }
    Result<std::optional<SignedCheckpoint>> c = newest_log_checkpoint(segs.value(), std::nullopt);
    if (!c) return c.status();
    if (!c->has_value()) return Status(Code::not_found, "the log holds no signed checkpoint");
    return (*c)->note;
  } catch (const std::exception& e) {
    return Status(Code::internal, fmt::format("find_checkpoint: {}", e.what()));
  }
}

FA_INLINE Result<std::string> make_inclusion_bundle(const std::string& log_dir, std::uint64_t seq,
                                                    const ProveOptions& options) {
  using namespace bundle_impl;
  try {
    Result<std::vector<detail::SegmentInfo>> segs = segments_of(log_dir);
    if (!segs) return segs.status();
    Result<std::string> rec = read_record(segs.value(), seq);
    if (!rec) return rec.status();
    record::View v;
    if (record::ParseResult pr = record::parse(rec.value(), &v); !pr)
      return Status(Code::corruption, fmt::format("record {} is not valid ({}): run fooocus-audit verify",
                                                  seq, record::parse_error_name(pr.error)));
    const std::string log_id(v.log_id);

    SignedCheckpoint cp;
    if (!options.anchor_file.empty()) {
      Result<std::vector<SignedCheckpoint>> cps = anchor_checkpoints(options.anchor_file, log_id);
      if (!cps) return cps.status();
      const SignedCheckpoint* best = nullptr;
      std::uint64_t largest = 0;
      for (const SignedCheckpoint& c : cps.value()) {
        largest = std::max(largest, c.body.size);
        if (c.body.size <= seq) continue;
        if (!best || (options.newest ? c.body.size >= best->body.size : c.body.size < best->body.size))
          best = &c;
      }
      if (best == nullptr)
        return Status(Code::not_found,
                      cps->empty()
                          ? fmt::format("{} holds no checkpoint of log {}", options.anchor_file, log_id)
                          : fmt::format("no checkpoint in {} covers record {} yet: the newest covers {} "
                                        "records (0..{})",
                                        options.anchor_file, seq, largest, largest == 0 ? 0 : largest - 1));
      cp = *best;
    } else {
      Result<std::optional<SignedCheckpoint>> c = newest_log_checkpoint(segs.value(), seq);
      if (!c) return c.status();
      if (!c->has_value())
        return Status(
            Code::not_found,
            fmt::format("no signed checkpoint covers record {} yet: the log has none after it (the writer "
                        "makes one every checkpoint_records records, every interval and at close)",
                        seq));
      if ((*c)->body.size <= seq)
        return Status(Code::not_found,
                      fmt::format("no signed checkpoint covers record {} yet: the newest covers {} "
                                  "records (0..{})",
                                  seq, (*c)->body.size, (*c)->body.size == 0 ? 0 : (*c)->body.size - 1));
      cp = std::move(**c);
    }

    Tree tree;
    if (Status s = open_tree(tree, log_dir, segs.value(), cp.body.size); !s) return s;
    const merkle::LeafVectorSource mem(tree.leaves);
    const merkle::NodeSource& src = tree.store ? static_cast<const merkle::NodeSource&>(*tree.store) : mem;

    Result<Hash> leaf = src.node(0, seq);
    if (!leaf) return leaf.status();
    if (leaf.value() != record::chain_hash(rec.value()))
      return Status(Code::corruption,
                    fmt::format("leaf {} of the tree is not the chain hash of record {}: {}", seq, seq,
                                stale_hint(tree, log_dir)));
    Result<Hash> root = merkle::root_at(src, cp.body.size);
    if (!root) return root.status();
    if (root.value() != cp.body.root)
      return Status(
          Code::corruption,
          fmt::format("the root of records 0..{} is not the root of the signed checkpoint of size {}: {}",
                      cp.body.size - 1, cp.body.size, stale_hint(tree, log_dir)));
    Result<std::vector<Hash>> proof = merkle::inclusion_proof(src, seq, cp.body.size);
    if (!proof) return proof.status();

    const nlohmann::json b = {{"bundle", kInclusionBundle},
                              {"checkpoint", cp.note},
                              {"proof", hex_list(proof.value())},
                              {"record", rec.value()}};
    std::string out = jcs::serialize(b);
    if (Status s = self_check(out); !s) return s;
    return out;
  } catch (const std::exception& e) {
    return Status(Code::internal, fmt::format("make_inclusion_bundle: {}", e.what()));
  }
}

FA_INLINE Result<std::string> make_consistency_bundle(const std::string& log_dir, std::string_view old_note,
                                                      std::string_view new_note) {
  using namespace bundle_impl;
  try {
    Result<note::Checkpoint> old_cp = checkpoint_body(old_note);
    if (!old_cp)
      return Status(Code::invalid_argument, fmt::format("old checkpoint: {}", old_cp.status().message()));
    Result<note::Checkpoint> new_cp = checkpoint_body(new_note);
    if (!new_cp)
      return Status(Code::invalid_argument, fmt::format("new checkpoint: {}", new_cp.status().message()));
    if (old_cp->origin != new_cp->origin)
      return Status(Code::invalid_argument, "the two checkpoints have different origins");
    if (old_cp->size > new_cp->size)
      return Status(Code::invalid_argument,
                    fmt::format("the old checkpoint (size {}) is larger than the new one "
                                "(size {})",
                                old_cp->size, new_cp->size));
    Result<std::vector<detail::SegmentInfo>> segs = segments_of(log_dir);
    if (!segs) return segs.status();
    Result<std::string> log_id = log_id_of(segs.value());
    if (!log_id) return log_id.status();
    std::string_view name;
    if (!split_origin(new_cp->origin, log_id.value(), &name))
      return Status(Code::invalid_argument,
                    fmt::format("the checkpoints are not of this log: their origin is not \"<key name>/{}\"",
                                log_id.value()));

    Tree tree;
    if (Status s = open_tree(tree, log_dir, segs.value(), new_cp->size); !s) return s;
    const merkle::LeafVectorSource mem(tree.leaves);
    const merkle::NodeSource& src = tree.store ? static_cast<const merkle::NodeSource&>(*tree.store) : mem;
    for (const note::Checkpoint* cp : {&old_cp.value(), &new_cp.value()}) {
      Result<Hash> root = merkle::root_at(src, cp->size);
      if (!root) return root.status();
      if (root.value() != cp->root)
        return Status(
            Code::corruption,
            fmt::format("the {} checkpoint (size {}) does not match the log's records: {}",
                        cp == &old_cp.value() ? "old" : "new", cp->size, stale_hint(tree, log_dir)));
    }
    Result<std::vector<Hash>> proof = merkle::consistency_proof(src, old_cp->size, new_cp->size);
    if (!proof) return proof.status();
    const nlohmann::json b = {{"bundle", kConsistencyBundle},
                              {"new", std::string(new_note)},
                              {"old", std::string(old_note)},
                              {"proof", hex_list(proof.value())}};
    std::string out = jcs::serialize(b);
    if (Status s = self_check(out); !s) return s;
    return out;
  } catch (const std::exception& e) {
    return Status(Code::internal, fmt::format("make_consistency_bundle: {}", e.what()));
  }
}

}  // namespace fooocus_audit
