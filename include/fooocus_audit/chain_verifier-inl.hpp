// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/chain_verifier.hpp"
#endif

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <thread>

#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/mac_key.hpp"
#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit {

FA_INLINE std::string_view reason_name(Reason r) noexcept {
  switch (r) {
    case Reason::torn_record: return "torn_record";
    case Reason::record_too_large: return "record_too_large";
    case Reason::bad_json: return "bad_json";
    case Reason::non_canonical: return "non_canonical";
    case Reason::bad_record: return "bad_record";
    case Reason::unknown_version: return "unknown_version";
    case Reason::log_id_mismatch: return "log_id_mismatch";
    case Reason::sequence_gap: return "sequence_gap";
    case Reason::missing_segment: return "missing_segment";
    case Reason::sequence_duplicate: return "sequence_duplicate";
    case Reason::sequence_reorder: return "sequence_reorder";
    case Reason::segment_name_mismatch: return "segment_name_mismatch";
    case Reason::timestamp_regression: return "timestamp_regression";
    case Reason::genesis_mismatch: return "genesis_mismatch";
    case Reason::hash_mismatch: return "hash_mismatch";
    case Reason::broken_link: return "broken_link";
    case Reason::anchor_mismatch: return "anchor_mismatch";
    case Reason::truncated_tail: return "truncated_tail";
    case Reason::mac_missing: return "mac_missing";
    case Reason::mac_epoch: return "mac_epoch";
    case Reason::mac_invalid: return "mac_invalid";
    case Reason::checkpoint_invalid: return "checkpoint_invalid";
    case Reason::checkpoint_replayed: return "checkpoint_replayed";
    case Reason::checkpoint_signature: return "checkpoint_signature";
  }
  return "unknown";
}

namespace verifier_impl {

// One line after the parallel stage: everything the sequential checks need, nothing borrowed.
struct Parsed {
  std::uint64_t offset = 0;
  enum class Kind : std::uint8_t { record, invalid, torn, too_large } kind = Kind::record;
  Reason reason{};
  std::string detail;
  std::uint64_t seq = 0;
  std::int64_t ts_micros = 0;
  std::array<char, record::kTimestampChars> ts{};
  std::array<char, record::kLogIdChars> log_id{};
  Hash prev{};
  Hash hash{};
  bool has_mac = false;
  std::uint64_t mac_epoch = 0;
  Hash mac_tag{};
  Hash unmac{};  // SHA-256(0x00 || U): the digest the tag covers (§9.1)
  std::int8_t mac_check = -1;  // tag checked in the parallel stage: 1 valid, 0 invalid, -1 not checked
  enum class System : std::uint8_t { none, epoch_end, checkpoint, key_rotated } system = System::none;
  std::string event;  // the event's bytes, kept only for the system records above
  // Where the event and its event_type lie in the line (for VerifyOptions::on_record).
  std::uint32_t event_off = 0, event_len = 0, type_off = 0, type_len = 0;
};

inline void parse_line(std::string_view line, std::uint64_t offset, Parsed* out) {
  out->offset = offset;
  record::View v;
  const record::ParseResult r = record::parse(line, &v);
  if (!r) {
    out->kind = Parsed::Kind::invalid;
    switch (r.error) {
      case record::ParseError::bad_json: out->reason = Reason::bad_json; break;
      case record::ParseError::non_canonical: out->reason = Reason::non_canonical; break;
      case record::ParseError::unknown_version: out->reason = Reason::unknown_version; break;
      default: out->reason = Reason::bad_record; break;
    }
    out->detail = r.detail;
    return;
  }
  out->kind = Parsed::Kind::record;
  out->seq = v.seq;
  out->ts_micros = v.ts_micros;
  std::memcpy(out->ts.data(), v.ts.data(), out->ts.size());
  std::memcpy(out->log_id.data(), v.log_id.data(), out->log_id.size());
  out->prev = v.prev;
  out->has_mac = v.has_mac;
  if (!v.has_mac) {
    out->hash = record::chain_hash(line);
  } else {
    // One pass over the bulk: hash 0x00 || bytes before `mac`, then fork into the record with and without it.
    thread_local detail::Sha256 with, without;
    const std::uint8_t leaf = 0x00;
    with.update(&leaf, 1);
    with.update(line.substr(0, v.mac_begin));
    with.copy_to(without);
    with.update(line.substr(v.mac_begin));
    without.update(line.substr(v.mac_end));
    out->hash = with.final();
    out->unmac = without.final();
    out->mac_epoch = v.mac_epoch;
    out->mac_tag = v.mac_tag;
    out->mac_check = -1;
  }
  out->event_off = static_cast<std::uint32_t>(v.event.data() - line.data());
  out->event_len = static_cast<std::uint32_t>(v.event.size());
  out->type_off = static_cast<std::uint32_t>(v.event_type.data() - line.data());
  out->type_len = static_cast<std::uint32_t>(v.event_type.size());
  out->system = Parsed::System::none;
  out->event.clear();
  if (v.event_type.size() > 4 && v.event_type.substr(0, 4) == "log.") {
    if (v.event_type == "log.epoch_end") out->system = Parsed::System::epoch_end;
    else if (v.event_type == "log.checkpoint") out->system = Parsed::System::checkpoint;
    else if (v.event_type == "log.key_rotated") out->system = Parsed::System::key_rotated;
    if (out->system != Parsed::System::none) out->event.assign(v.event.data(), v.event.size());
  }
}

// A checkpoint anchor or record, parsed once (§10.2).
struct CheckpointInfo {
  std::uint64_t size = 0;
  Hash root{};
  std::string origin;
  std::vector<std::string> verified_by;  // trusted key texts whose signature verified
  std::string problem;                   // malformed note or body
  bool bad_signature = false;
};

inline CheckpointInfo inspect_checkpoint_note(const std::string& note_text, const std::vector<note::VerifierKey>& trusted) {
  CheckpointInfo c;
  Result<note::Note> n = note::parse_note(note_text);
  if (!n) {
    c.problem = "the note is not a signed note: " + n.status().message();
    return c;
  }
  Result<note::Checkpoint> body = note::parse_checkpoint(n->text);
  if (!body) {
    c.problem = "the note is not a checkpoint: " + body.status().message();
    return c;
  }
  c.size = body->size;
  c.root = body->root;
  c.origin = body->origin;
  if (!trusted.empty()) {
    Result<note::NoteVerification> v = note::verify_note(note_text, trusted);
    if (!v) {
      c.problem = v.status().message();
      return c;
    }
    c.verified_by = v->verified_by;
    c.bad_signature = v->bad_signature;
  }
  return c;
}

inline bool origin_names_log(std::string_view origin, std::string_view log_id) {
  return origin.size() > log_id.size() + 1 && origin.substr(origin.size() - log_id.size()) == log_id &&
         origin[origin.size() - log_id.size() - 1] == '/';
}

struct LineRef {
  const char* data;
  std::size_t size;
  std::uint64_t offset;
};

struct Location {
  bool valid = false;
  std::uint64_t seq = 0;
  Hash hash{};
  std::string segment;
  std::uint64_t offset = 0;
  std::int64_t ts = 0;
  bool backfill = false;  // filled a hole left by an earlier forward jump
  bool flagged = false;   // already reported under §8.2 steps 6-8 (or genesis): links into/out of it are not
};

// Open sequence gaps the verifier remembers at once (for reorder detection); beyond this the oldest is reported.
inline constexpr std::size_t kMaxOpenGaps = 4096;

struct Missing {
  std::uint64_t lo, hi;  // inclusive range of sequence numbers not (yet) seen
  std::string segment;   // where the record that jumped ahead is
  std::uint64_t offset;
  bool at_segment_start;  // the record after the gap starts a segment file whose name states its seq
};

}  // namespace verifier_impl

struct ChainVerifier::Impl {
  using Parsed = verifier_impl::Parsed;
  VerifyOptions opt;
  VerifySummary sum;

  // Current segment.
  std::string seg_name;
  std::optional<std::uint64_t> seg_first_from_name;
  bool seg_first_line = true;
  std::uint64_t seg_offset = 0;  // offset of the next byte fed
  std::string carry;             // a line split across feed() calls
  std::uint64_t carry_offset = 0;
  bool skipping = false;         // inside an over-long line, waiting for its LF

  // Chain state.
  bool started = false;
  std::uint64_t expected = 0;
  std::uint64_t bad_run = 0;  // unreadable lines since the last record: they may hold expected, expected+1, ...
  verifier_impl::Location prev;
  struct Break {
    verifier_impl::Location q, r;
  };
  std::optional<Break> pending;
  // Sequence ranges not seen yet, oldest first. Bounded (kMaxOpenGaps) so that memory stays flat on any input.
  std::deque<verifier_impl::Missing> missing;
  merkle::Frontier frontier;
  bool tree_ok = true;
  bool anchor_seen = false;
  std::string log_id;

  // MACs (§8.2 step 10).
  bool mac_mode_known = false;
  std::optional<mac::EpochKey> mac_base;  // the auditor's key: K_0 from the seed, or a writer state's K_e
  std::optional<mac::EpochKey> mac_cur_key;
  std::optional<mac::RecordMac> mac_cur;
  bool mac_prev_valid = false, mac_prev_end = false;
  std::uint64_t mac_prev_epoch = 0;
  // A run of consecutive records whose MACs fail is one finding with a count: rewriting one record and
  // re-linking the rest changes the bytes (the prev) every later MAC covers.
  std::optional<Finding> mac_run;
  bool mac_key_tried = false, mac_derived_any = false;
  std::uint64_t mac_newest_checked = 0;  // newest epoch whose tags verified in its right place
  std::uint64_t mac_prev_seq = 0;        // seq of the last record with a mac
  bool mac_alt = false;                  // the last record had a mac_epoch finding ...
  std::uint64_t mac_alt_epoch = 0;       // ... and should have been in this epoch
  std::vector<std::string> retired_keys;  // labels of keys retired by log.key_rotated (§10.5)
  bool tree_seeded = false;               // a partial log's tree started from a signed checkpoint's frontier

  // Checkpoints (step 11) and checkpoint anchors.
  std::string current_key;  // VerifierKey::text() of the log's signing key (§10.5)
  std::vector<verifier_impl::CheckpointInfo> anchor_info;
  std::vector<std::size_t> anchor_order;  // indexes into checkpoint_anchors by tree size
  std::size_t anchor_next = 0;

  // Scratch for the parallel stage.
  std::vector<verifier_impl::LineRef> lines;
  std::vector<Parsed> parsed;
  unsigned threads = 1;
  Status hook_status;  // why on_record stopped being called

  explicit Impl(VerifyOptions o) : opt(std::move(o)) {
    threads = opt.threads != 0 ? opt.threads : std::min(4u, std::max(1u, std::thread::hardware_concurrency()));
    if (opt.start_seq && *opt.start_seq != 0) tree_ok = false;
    for (const CheckpointAnchor& a : opt.checkpoint_anchors) {
      anchor_info.push_back(verifier_impl::inspect_checkpoint_note(a.note, opt.trusted_keys));
      anchor_order.push_back(anchor_order.size());
    }
    std::stable_sort(anchor_order.begin(), anchor_order.end(),
                     [this](std::size_t a, std::size_t b) { return anchor_info[a].size < anchor_info[b].size; });
  }

  // ---- MACs (§8.2 step 10) ----

  // The tagger of `epoch`, derived forward from the key we hold; null when the key cannot reach it (an
  // earlier epoch than a state file's) or the epoch is implausibly far ahead (never derive more than
  // `max_steps` evolutions for one record: a hostile epoch number must not cost hours).
  mac::RecordMac* mac_for(std::uint64_t epoch, std::uint64_t max_steps) {
    if (mac_cur && mac_cur->epoch() == epoch) return &*mac_cur;
    if (!mac_base) return nullptr;
    const mac::EpochKey& from = mac_cur_key && mac_cur_key->epoch() <= epoch ? *mac_cur_key : *mac_base;
    if (from.epoch() > epoch || epoch - from.epoch() > max_steps) return nullptr;
    Result<mac::EpochKey> k = from.forward_to(epoch);
    if (!k) return nullptr;
    mac_cur_key.emplace(std::move(k.value()));
    mac_cur.emplace(*mac_cur_key);
    return &*mac_cur;
  }

  // Loads the auditor's key once, for the log of the first record read (K_0 depends on the log id).
  void load_mac_key(const Parsed& p) {
    if (mac_key_tried || opt.mac_key_path.empty()) return;
    mac_key_tried = true;
    Result<mac::EpochKey> k = mac::EpochKey::load(opt.mac_key_path, std::string_view(p.log_id.data(), p.log_id.size()));
    if (k) mac_base.emplace(std::move(k.value()));
    else sum.mac_key_problem = k.status().to_string();
  }

  // Tags are checked in parallel after parsing: the keys of the epochs this batch claims are derived here
  // (forward only, at most one evolution per line of the batch beyond the newest epoch checked: a hostile
  // epoch number costs no more than the batch's size), cloned per thread, and every tag checked against the
  // key of the epoch it claims. Whether that epoch is the right one for its position is check_mac's job.
  void check_tags_parallel(unsigned t) {
    if (opt.mac_key_path.empty()) return;
    std::vector<std::uint64_t> epochs;  // distinct claimed epochs, in order of first appearance
    std::vector<std::uint64_t> claimed_at;  // the seq of the first record claiming each
    std::vector<int> which(parsed.size(), -1);
    for (std::size_t i = 0; i < parsed.size(); ++i) {
      const Parsed& p = parsed[i];
      if (p.kind != Parsed::Kind::record || !p.has_mac) continue;
      load_mac_key(p);
      if (!mac_base) return;
      auto it = std::find(epochs.begin(), epochs.end(), p.mac_epoch);
      if (it == epochs.end()) {
        if (epochs.size() >= 64) continue;  // more distinct epochs in one batch than a log can have: not checked
        it = epochs.insert(epochs.end(), p.mac_epoch);
        claimed_at.push_back(p.seq);
      }
      which[i] = static_cast<int>(it - epochs.begin());
    }
    if (epochs.empty()) return;
    // keys[k][e]: thread k's tagger for epochs[e] (null: that epoch cannot be reached with our key).
    std::vector<std::vector<std::optional<mac::RecordMac>>> keys(t);
    for (auto& row : keys) row.resize(epochs.size());
    // Every epoch holds at least one record, so a record's epoch never exceeds its seq. Beyond that, derive
    // at most 2^22 evolutions (a few seconds) to reach where a partial log starts, and afterwards at most one
    // per line of the batch beyond the newest epoch verified.
    const std::uint64_t from = std::max(mac_newest_checked, mac_base->epoch());
    for (std::size_t e = 0; e < epochs.size(); ++e) {
      const std::uint64_t limit = mac_derived_any ? from + parsed.size() + 1
                                                  : std::min<std::uint64_t>(claimed_at[e], from + (1u << 22));
      if (epochs[e] > limit || epochs[e] > claimed_at[e]) continue;
      mac::RecordMac* m = mac_for(epochs[e], UINT64_MAX);
      mac_derived_any = true;
      if (m == nullptr) continue;
      for (unsigned k = 0; k < t; ++k) keys[k][e].emplace(m->clone());
    }
    auto work = [&](unsigned k, std::size_t from, std::size_t to) {
      for (std::size_t i = from; i < to; ++i) {
        if (which[i] < 0) continue;
        std::optional<mac::RecordMac>& m = keys[k][static_cast<std::size_t>(which[i])];
        if (m) parsed[i].mac_check = m->check(parsed[i].unmac, parsed[i].mac_tag.data()) ? 1 : 0;
      }
    };
    const std::size_t n = parsed.size();
    if (t <= 1) {
      work(0, 0, n);
    } else {
      std::vector<std::thread> pool;
      const std::size_t per = (n + t - 1) / t;
      for (unsigned k = 1; k < t; ++k) pool.emplace_back(work, k, std::min(n, per * k), std::min(n, per * (k + 1)));
      work(0, 0, std::min(n, per));
      for (std::thread& th : pool) th.join();
    }
  }

  void check_mac(const Parsed& p, bool adjacent) {
    if (!mac_mode_known) {
      mac_mode_known = true;
      sum.uses_macs = p.has_mac || !opt.mac_key_path.empty();
      load_mac_key(p);
    }
    if (!sum.uses_macs) {
      if (p.has_mac) ++sum.macs_unchecked;  // a log without MACs from its start cannot check one record's
      return;
    }
    if (!p.has_mac) {
      extend_mac_run(Reason::mac_missing, p, adjacent);
      return;
    }
    if (!sum.mac_first_epoch) sum.mac_first_epoch = p.mac_epoch;
    sum.mac_last_epoch = p.mac_epoch;
    // The epoch this position requires (§9.2).
    bool epoch_ok = true;
    std::uint64_t expect = p.mac_epoch, max_steps = 1;
    if (mac_prev_valid) {
      expect = mac_prev_epoch + (mac_prev_end ? 1 : 0);
      if (adjacent && prev.seq == mac_prev_seq) {
        epoch_ok = p.mac_epoch == expect;
        // The record after a re-sealed one may follow the epoch the re-sealed record should have had (or that
        // epoch's successor, had the original been an epoch end): one alteration stays one finding.
        if (!epoch_ok && mac_alt && (p.mac_epoch == mac_alt_epoch || p.mac_epoch == mac_alt_epoch + 1))
          epoch_ok = true;
      } else if (p.seq > mac_prev_seq) {
        epoch_ok = p.mac_epoch >= mac_prev_epoch;  // across a gap or unreadable lines: may grow, never shrink
        max_steps = p.seq - mac_prev_seq + 1;
      }
    } else if (p.seq == 0) {
      expect = 0;
      epoch_ok = p.mac_epoch == 0;
    }
    if (p.mac_epoch > p.seq) {  // every epoch holds at least one record: more epochs than records is forged
      expect = std::min(expect, p.seq);
      epoch_ok = false;
    }
    const bool had_alt = mac_alt;
    mac_alt = !epoch_ok && mac_prev_valid && !had_alt;
    mac_alt_epoch = expect;
    if (!epoch_ok) {
      add(Reason::mac_epoch, p.seq, seg_name, p.offset,
          fmt::format("record {} is sealed in MAC epoch {}, but its place in the log is in epoch {}: it was sealed "
                      "again with another epoch's key",
                      p.seq, p.mac_epoch, expect));
    } else if (p.system == Parsed::System::epoch_end) {
      const nlohmann::json ev = nlohmann::json::parse(p.event, nullptr, /*allow_exceptions=*/false);
      if (!ev.is_object() || !ev.contains("epoch") || !ev["epoch"].is_number_unsigned() ||
          ev["epoch"].get<std::uint64_t>() != p.mac_epoch)
        add(Reason::mac_epoch, p.seq, seg_name, p.offset,
            fmt::format("log.epoch_end record {} does not name its own MAC epoch {}", p.seq, p.mac_epoch));
    }
    (void)max_steps;
    if (p.mac_check < 0) {
      ++sum.macs_unchecked;
    } else if (p.mac_check == 0) {
      if (epoch_ok) extend_mac_run(Reason::mac_invalid, p, adjacent);  // a wrong epoch is already a finding
    } else {
      ++sum.macs_checked;
      if (epoch_ok) mac_newest_checked = std::max(mac_newest_checked, p.mac_epoch);
      flush_mac_run();
    }
    mac_prev_valid = true;
    mac_prev_seq = p.seq;
    mac_prev_epoch = p.mac_epoch;
    mac_prev_end = p.system == Parsed::System::epoch_end;
  }

  void extend_mac_run(Reason reason, const Parsed& p, bool adjacent) {
    if (mac_run && mac_run->reason == reason && adjacent && *mac_run->seq + mac_run->count == p.seq) {
      ++mac_run->count;
      return;
    }
    flush_mac_run();
    mac_run = Finding{reason, p.seq, false, 1, seg_name, p.offset, {}};
  }

  void flush_mac_run() {
    if (!mac_run) return;
    Finding f = std::move(*mac_run);
    mac_run.reset();
    const std::uint64_t first = *f.seq, last = first + f.count - 1;
    std::string detail;
    if (f.reason == Reason::mac_missing)
      detail = f.count == 1 ? fmt::format("record {} has no MAC in a log that carries them", first)
                            : fmt::format("records {}..{} ({} records) have no MAC in a log that carries them", first,
                                          last, f.count);
    else
      detail = f.count == 1
                   ? fmt::format("the MAC of record {} does not verify: the record was altered or forged", first)
                   : fmt::format("the MACs of records {}..{} ({} records) do not verify: altered or forged from "
                                 "record {} on (re-linking records after a change alters every later MAC input)",
                                 first, last, f.count, first);
    add(f.reason, first, f.segment, f.offset, std::move(detail), f.count);
  }

  // ---- Checkpoints (§8.2 step 11) ----

  void check_checkpoint(const Parsed& p, std::string_view pid) {
    ++sum.checkpoints;
    auto bad = [&](Reason r, std::string d) { add(r, p.seq, seg_name, p.offset, std::move(d)); };
    const nlohmann::json ev = nlohmann::json::parse(p.event, nullptr, /*allow_exceptions=*/false);
    Hash root{};
    std::vector<Hash> nodes;
    bool ok = ev.is_object() && ev.contains("size") && ev["size"].is_number_unsigned() && ev.contains("root") &&
              ev["root"].is_string() && detail::parse_hash_hex(ev["root"].get<std::string>(), &root) &&
              ev.contains("frontier") && ev["frontier"].is_array() && ev["frontier"].size() <= 64 &&
              (!ev.contains("note") || ev["note"].is_string());
    if (ok)
      for (const auto& n : ev["frontier"]) {
        Hash h{};
        ok = ok && n.is_string() && detail::parse_hash_hex(n.get<std::string>(), &h);
        nodes.push_back(h);
      }
    if (ok)
      for (const auto& item : ev.items())
        if (item.key() != "event_type" && item.key() != "size" && item.key() != "root" && item.key() != "frontier" &&
            item.key() != "note")
          ok = false;
    if (!ok) return bad(Reason::checkpoint_invalid, fmt::format("log.checkpoint record {} is malformed", p.seq));
    const std::uint64_t size = ev["size"].get<std::uint64_t>();
    if (size < p.seq)
      return bad(Reason::checkpoint_replayed,
                 fmt::format("record {} is a checkpoint of tree size {}: an older checkpoint copied forward", p.seq,
                             size));
    if (size > p.seq)
      return bad(Reason::checkpoint_invalid,
                 fmt::format("record {} claims a checkpoint of tree size {}, beyond its own position", p.seq, size));
    // A record already reported before this checkpoint changed the tree: its root cannot match, and saying so
    // again at every later checkpoint would be one alteration reported many times.
    const bool tree_clean = sum.findings_total == 0 && !pending && !mac_run;
    const bool comparable = tree_ok && tree_clean && frontier.size() == p.seq;
    if (!comparable) ++sum.checkpoint_roots_unchecked;
    if (comparable && (root != frontier.root() || nodes != frontier.nodes()))
      return bad(Reason::checkpoint_invalid,
                 fmt::format("checkpoint record {} states a root or frontier that records 0..{} do not have", p.seq,
                             p.seq == 0 ? 0 : p.seq - 1));
    if (!ev.contains("note")) {
      ++sum.checkpoints_unsigned;
      return;
    }
    const verifier_impl::CheckpointInfo c =
        verifier_impl::inspect_checkpoint_note(ev["note"].get<std::string>(), opt.trusted_keys);
    if (!c.problem.empty()) return bad(Reason::checkpoint_invalid, fmt::format("checkpoint record {}: {}", p.seq, c.problem));
    if (c.size != size || c.root != root || !verifier_impl::origin_names_log(c.origin, pid))
      return bad(Reason::checkpoint_invalid,
                 fmt::format("the signed note of checkpoint record {} states another origin, size or root", p.seq));
    if (opt.trusted_keys.empty()) {
      ++sum.checkpoints_sig_unchecked;
      sum.last_signed_checkpoint = size;
      return seed_partial_tree(p, size, root, nodes, comparable);
    }
    if (c.bad_signature)
      return bad(Reason::checkpoint_signature,
                 fmt::format("checkpoint {}: a trusted key's signature does not verify (forged or altered)", size));
    if (c.verified_by.empty())
      return bad(Reason::checkpoint_signature,
                 fmt::format("checkpoint {} is signed by no trusted key", size));
    if (c.origin != note::checkpoint_origin(key_short_name(c.verified_by.front()), pid) &&
        (c.verified_by.size() < 2 || c.origin != note::checkpoint_origin(key_short_name(c.verified_by[1]), pid)))
      return bad(Reason::checkpoint_invalid,
                 fmt::format("checkpoint {} has origin {}, which is not <signing key name>/<log_id>", size, c.origin));
    if (current_key.empty()) {
      current_key = c.verified_by.front();
    } else if (std::find(c.verified_by.begin(), c.verified_by.end(), current_key) == c.verified_by.end()) {
      return bad(Reason::checkpoint_signature,
                 fmt::format("checkpoint {} is signed by {}, but the log's signing key is {} (retired, or never "
                             "announced by log.key_rotated)",
                             size, key_name(c.verified_by.front()), key_name(current_key)));
    }
    ++sum.checkpoints_verified;
    sum.last_signed_checkpoint = size;
    const std::string label = key_name(current_key);
    if (std::find(sum.signing_keys.begin(), sum.signing_keys.end(), label) == sum.signing_keys.end())
      sum.signing_keys.push_back(label);
    seed_partial_tree(p, size, root, nodes, comparable);
  }

  // A log read from the middle (one segment file) has no tree of its own. Its first signed checkpoint, whose
  // frontier hashes to the signed root, gives one: the records after it are then compared with every later
  // checkpoint like in a whole log (every segment the writer starts begins with such a checkpoint).
  void seed_partial_tree(const Parsed& p, std::uint64_t size, const Hash& root, const std::vector<Hash>& nodes,
                         bool comparable) {
    if (comparable || tree_seeded || tree_ok || opt.start_seq.value_or(0) == 0 || sum.findings_total != 0 ||
        pending || size != p.seq)
      return;
    try {
      merkle::Frontier f = merkle::Frontier::from_nodes(size, nodes);
      if (f.root() != root) return;
      frontier = std::move(f);
    } catch (const std::invalid_argument&) {
      return;
    }
    tree_ok = true;
    tree_seeded = true;
    --sum.checkpoint_roots_unchecked;  // it is now the tree's starting point, not an unchecked claim
  }

  static std::string key_short_name(const std::string& key_text) {
    Result<note::VerifierKey> k = note::parse_verifier_key(key_text);
    return k ? k->name : std::string();
  }

  static std::string key_name(const std::string& key_text) {
    Result<note::VerifierKey> k = note::parse_verifier_key(key_text);
    return k ? note::key_label(k->name, k->id) : key_text;
  }

  void on_key_rotated(const Parsed& p) {
    const nlohmann::json ev = nlohmann::json::parse(p.event, nullptr, /*allow_exceptions=*/false);
    Result<note::VerifierKey> k = Status(Code::invalid_argument, "missing new_key");
    if (ev.is_object() && ev.contains("new_key") && ev["new_key"].is_string())
      k = note::parse_verifier_key(ev["new_key"].get<std::string>());
    if (!k || !ev.contains("old_key") || !ev["old_key"].is_string())
      return add(Reason::checkpoint_invalid, p.seq, seg_name, p.offset,
                 fmt::format("log.key_rotated record {} is malformed", p.seq));
    // A rotation must retire the key in use, and may not bring back a key retired before or name one the
    // auditor does not trust: otherwise whoever holds a leaked, retired key could rotate back to it.
    const std::string new_label = note::key_label(k->name, k->id);
    const std::string old_label = ev["old_key"].get<std::string>();
    std::string problem;
    if (!current_key.empty() && old_label != key_name(current_key))
      problem = fmt::format("retires {}, but the log's signing key is {}", old_label, key_name(current_key));
    else if (std::find(retired_keys.begin(), retired_keys.end(), new_label) != retired_keys.end() ||
             (!current_key.empty() && new_label == key_name(current_key)))
      problem = fmt::format("brings back key {}, which this log already used and retired", new_label);
    else if (!opt.trusted_keys.empty() &&
             std::find(opt.trusted_keys.begin(), opt.trusted_keys.end(), k.value()) == opt.trusted_keys.end())
      problem = fmt::format("rotates to key {}, which is not trusted", new_label);
    if (!problem.empty())
      return add(Reason::checkpoint_signature, p.seq, seg_name, p.offset,
                 fmt::format("log.key_rotated record {} {}", p.seq, problem));
    retired_keys.push_back(old_label);
    if (!current_key.empty() || !opt.trusted_keys.empty()) current_key = k->text();
  }

  // A checkpoint anchor whose tree size the records read have just reached (root = their Merkle root).
  void check_anchor(std::size_t i, const Hash& root) {
    ++sum.checkpoint_anchors_checked;
    const CheckpointAnchor& a = opt.checkpoint_anchors[i];
    const verifier_impl::CheckpointInfo& c = anchor_info[i];
    const std::uint64_t at = c.size == 0 ? 0 : c.size - 1;
    auto bad = [&](Reason r, std::string d) { add(r, at, seg_name, seg_offset, std::move(d)); };
    if (!c.problem.empty()) return bad(Reason::anchor_mismatch, fmt::format("checkpoint anchor {}: {}", i + 1, c.problem));
    if (a.log_id != log_id || !verifier_impl::origin_names_log(c.origin, log_id))
      return bad(Reason::anchor_mismatch,
                 fmt::format("checkpoint anchor {} is for log {} (origin {}), this log is {}", i + 1, a.log_id, c.origin,
                             log_id));
    if (!opt.trusted_keys.empty() && (c.bad_signature || c.verified_by.empty()))
      return bad(Reason::checkpoint_signature,
                 fmt::format("checkpoint anchor {} (tree size {}) {}", i + 1, c.size,
                             c.bad_signature ? "has a trusted key's signature that does not verify"
                                             : "is signed by no trusted key"));
    if (root != c.root)
      bad(Reason::anchor_mismatch,
          fmt::format("records 0..{} have Merkle root {}, checkpoint anchor {} says {}: the log was rewritten, rolled "
                      "back or forked",
                      at, detail::to_hex(root), i + 1, detail::to_hex(c.root)));
  }

  void add(Reason reason, std::optional<std::uint64_t> seq, const std::string& segment, std::uint64_t offset,
           std::string detail, std::uint64_t count = 1, bool inferred = false) {
    ++sum.findings_total;
    if (sum.findings.size() < opt.max_findings)
      sum.findings.push_back(Finding{reason, seq, inferred, count, segment, offset, std::move(detail)});
  }

  std::uint64_t inferred_seq() const {
    return prev.valid ? prev.seq + 1 : (started ? expected + bad_run : opt.start_seq.value_or(0));
  }

  void bad_line(const Parsed& p) {
    const std::uint64_t s = inferred_seq();
    const Reason reason = p.kind == Parsed::Kind::torn ? Reason::torn_record
                          : p.kind == Parsed::Kind::too_large ? Reason::record_too_large
                                                              : p.reason;
    add(reason, s, seg_name, p.offset, p.detail, 1, true);
    if (!started) {
      started = true;
      expected = opt.start_seq.value_or(0);
    }
    ++bad_run;
    seg_first_line = false;  // an unreadable first line cannot be held against the file name
    tree_ok = false;
    if (pending) resolve_pending(false, false);
    prev.valid = false;
  }

  // The link q->r is broken; decide using what follows r (docs/log-format.md §8.2 step 9).
  void resolve_pending(bool next_checkable, bool next_link_ok) {
    const Break& b = *pending;
    if (next_checkable && next_link_ok)
      add(Reason::hash_mismatch, b.q.seq, b.q.segment, b.q.offset,
          fmt::format("record {} does not match the hash that record {} commits to (record {} was altered)", b.q.seq,
                      b.r.seq, b.q.seq));
    else
      add(Reason::broken_link, b.r.seq, b.r.segment, b.r.offset,
          fmt::format("record {} does not link to record {}, and nothing later confirms record {}", b.r.seq, b.q.seq,
                      b.r.seq));
    pending.reset();
  }

  void report_missing(const verifier_impl::Missing& m) {
    const bool whole_segment = m.at_segment_start;
    add(whole_segment ? Reason::missing_segment : Reason::sequence_gap, m.lo, m.segment, m.offset,
        m.lo == m.hi ? fmt::format("record {} is missing", m.lo)
                     : fmt::format("records {}..{} are missing ({} records){}", m.lo, m.hi, m.hi - m.lo + 1,
                                   whole_segment ? ", a whole segment or more" : ""),
        m.hi - m.lo + 1);
  }

  bool fill_missing(std::uint64_t seq) {
    for (std::size_t i = 0; i < missing.size(); ++i) {
      verifier_impl::Missing& m = missing[i];
      if (seq < m.lo || seq > m.hi) continue;
      if (m.lo == m.hi) {
        missing.erase(missing.begin() + static_cast<std::ptrdiff_t>(i));
      } else if (seq == m.lo) {
        ++m.lo;
      } else if (seq == m.hi) {
        --m.hi;
      } else {
        verifier_impl::Missing upper = m;
        upper.lo = seq + 1;
        m.hi = seq - 1;
        missing.insert(missing.begin() + static_cast<std::ptrdiff_t>(i) + 1, upper);
      }
      return true;
    }
    return false;
  }

  void on_record(const Parsed& p) {
    const std::string_view pid(p.log_id.data(), p.log_id.size());
    const std::string_view ts(p.ts.data(), p.ts.size());
    ++sum.records;
    // A record reported under steps 6-8 (or with a wrong genesis link) is not used to judge its links (step 9).
    bool flagged = false;
    auto flag = [&](Reason reason, std::uint64_t seq, std::string detail) {
      add(reason, seq, seg_name, p.offset, std::move(detail));
      flagged = true;
    };
    if (log_id.empty()) {
      log_id = std::string(pid);
      if (!opt.expected_log_id.empty() && pid != opt.expected_log_id)
        flag(Reason::log_id_mismatch, p.seq,
             fmt::format("the log is {}, but log {} was expected: a different (possibly fabricated) log", pid,
                         opt.expected_log_id));
    } else if (pid != log_id) {
      flag(Reason::log_id_mismatch, p.seq, fmt::format("record {} belongs to log {}, not {}", p.seq, pid, log_id));
    }
    if (seg_first_line) {
      seg_first_line = false;
      // About the file name, not the record: its links stay independent evidence, so it is not flagged.
      if (seg_first_from_name && *seg_first_from_name != p.seq)
        add(Reason::segment_name_mismatch, p.seq, seg_name, p.offset,
            fmt::format("segment {} is named for record {} but starts with record {}", seg_name, *seg_first_from_name,
                        p.seq));
    }

    // Sequence (§8.2 step 7).
    if (!started) {
      started = true;
      expected = opt.start_seq.value_or(0);
    }
    if (bad_run > 0) {
      // The unreadable lines just before this record held expected..p.seq-1 (or were inserted garbage).
      if (p.seq > expected && p.seq - expected <= bad_run) expected = p.seq;
      bad_run = 0;
    }
    bool backfill = false;
    const bool adjacent = prev.valid && p.seq == prev.seq + 1;
    if (p.seq == expected) {
      ++expected;
    } else if (p.seq > expected) {
      // Whole segment files are missing when the record after the gap starts a file that is named for it.
      const bool seg_start = p.offset == 0 && seg_first_from_name && *seg_first_from_name == p.seq;
      missing.push_back({expected, p.seq - 1, seg_name, p.offset, seg_start});
      if (missing.size() > verifier_impl::kMaxOpenGaps) {
        // Too many holes at once: report the oldest now; a record filling it later reads as out of place.
        report_missing(missing.front());
        missing.pop_front();
      }
      expected = p.seq + 1;
      tree_ok = false;
    } else {
      tree_ok = false;
      if (prev.valid && p.seq == prev.seq) {
        flag(Reason::sequence_duplicate, p.seq,
             fmt::format("record {} appears twice in a row (previous copy at {} offset {})", p.seq, prev.segment,
                         prev.offset));
      } else if (fill_missing(p.seq)) {
        backfill = true;
        if (!(adjacent && prev.backfill))
          flag(Reason::sequence_reorder, p.seq,
               prev.valid ? fmt::format("record {} appears after record {}", p.seq, prev.seq)
                          : fmt::format("record {} is out of order", p.seq));
      } else if (p.seq < opt.start_seq.value_or(0)) {
        flag(Reason::sequence_reorder, p.seq,
             fmt::format("record {} belongs before record {}, where this log or segment starts", p.seq,
                         opt.start_seq.value_or(0)));
      } else {
        flag(Reason::sequence_duplicate, p.seq, fmt::format("record {} was already read earlier in the log", p.seq));
      }
    }

    // Time (§8.2 step 8).
    if (adjacent && p.ts_micros < prev.ts)
      flag(Reason::timestamp_regression, p.seq,
           fmt::format("record {} is dated {}, before record {}", p.seq, ts, prev.seq));

    // Links (§8.2 step 9).
    if (p.seq == 0 && p.prev != record::genesis_hash(pid))
      flag(Reason::genesis_mismatch, 0, "record 0 does not link to the genesis hash of its log id");
    const bool checkable = adjacent && !flagged && !prev.flagged;
    const bool link_ok = checkable && p.prev == prev.hash;
    bool explained = false;
    if (pending) {
      explained = checkable && !link_ok;
      resolve_pending(checkable, link_ok);
    }
    if (checkable && !link_ok && !explained) pending = Break{prev, {}};

    // MACs and checkpoints (steps 10, 11).
    check_mac(p, adjacent);
    if (p.system == Parsed::System::checkpoint) check_checkpoint(p, pid);
    else if (p.system == Parsed::System::key_rotated) on_key_rotated(p);

    // Merkle tree and anchors.
    if (tree_ok && p.seq == frontier.size()) {
      frontier.append(p.hash);
      while (anchor_next < anchor_order.size() && anchor_info[anchor_order[anchor_next]].size <= frontier.size()) {
        const std::size_t i = anchor_order[anchor_next++];
        if (anchor_info[i].size == frontier.size()) check_anchor(i, frontier.root());
        else if (anchor_info[i].size == 0) check_anchor(i, merkle::empty_root());
        else ++sum.checkpoint_anchors_unchecked;  // before where a partial log's tree starts
      }
    } else {
      tree_ok = false;
    }
    if (opt.anchor && p.seq == opt.anchor->seq) {
      anchor_seen = true;
      if (p.hash != opt.anchor->head)
        add(Reason::anchor_mismatch, p.seq, seg_name, p.offset,
            fmt::format("record {} has chain hash {}, the anchor says {}: the log was rewritten or forked", p.seq,
                        detail::to_hex(p.hash), detail::to_hex(opt.anchor->head)));
    }

    prev.valid = true;
    prev.seq = p.seq;
    prev.hash = p.hash;
    prev.segment = seg_name;
    prev.offset = p.offset;
    prev.ts = p.ts_micros;
    prev.backfill = backfill;
    prev.flagged = flagged;
    if (pending && !pending->r.valid) pending->r = prev;
    if (!sum.first_seq) {
      sum.first_seq = p.seq;
      sum.first_ts.assign(ts.data(), ts.size());
    }
    sum.last_seq = p.seq;
    sum.last_ts.assign(ts.data(), ts.size());
    sum.head = p.hash;
  }

  // VerifyOptions::on_record, with views into the line (still in the caller's buffer or in `carry`).
  void deliver(const Parsed& p, const verifier_impl::LineRef& l) {
    VerifiedRecord r;
    r.seq = p.seq;
    r.ts = std::string_view(p.ts.data(), p.ts.size());
    r.ts_micros = p.ts_micros;
    r.event_type = std::string_view(l.data + p.type_off, p.type_len);
    r.event = std::string_view(l.data + p.event_off, p.event_len);
    try {
      opt.on_record(r);
    } catch (const std::exception& e) {
      hook_status = Status(Code::invalid_argument, std::string("on_record: ") + e.what());
    } catch (...) {
      hook_status = Status(Code::invalid_argument, "on_record: unknown exception");
    }
  }

  void run_lines() {
    parsed.resize(lines.size());
    auto work = [this](std::size_t from, std::size_t to) {
      for (std::size_t i = from; i < to; ++i) {
        const verifier_impl::LineRef& l = lines[i];
        if (l.size > record::kMaxRecordBytes) {
          parsed[i] = Parsed{};
          parsed[i].offset = l.offset;
          parsed[i].kind = Parsed::Kind::too_large;
          parsed[i].detail = fmt::format("line of {} bytes exceeds the 16 MiB record limit", l.size);
        } else {
          verifier_impl::parse_line(std::string_view(l.data, l.size), l.offset, &parsed[i]);
        }
      }
    };
    const std::size_t n = lines.size();
    const unsigned t = n >= 64 ? threads : 1;
    if (t <= 1) {
      work(0, n);
    } else {
      std::vector<std::thread> pool;
      const std::size_t per = (n + t - 1) / t;
      for (unsigned k = 1; k < t; ++k) {
        const std::size_t from = std::min(n, per * k), to = std::min(n, per * (k + 1));
        pool.emplace_back(work, from, to);
      }
      work(0, std::min(n, per));
      for (std::thread& th : pool) th.join();
    }
    check_tags_parallel(t);
    for (std::size_t i = 0; i < parsed.size(); ++i) {
      const Parsed& p = parsed[i];
      ++sum.lines;
      if (p.kind == Parsed::Kind::record) {
        on_record(p);
        if (opt.on_record && hook_status.ok()) deliver(p, lines[i]);
      } else {
        bad_line(p);
      }
    }
    lines.clear();
  }

  void feed(std::string_view data) {
    if (data.empty()) return;  // a default string_view has a null data(): never hand it to memchr
    sum.bytes += data.size();
    const char* p = data.data();
    const char* end = p + data.size();
    std::uint64_t off = seg_offset;
    seg_offset += data.size();
    if (skipping || !carry.empty()) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      const char* stop = nl ? nl : end;
      if (!skipping) {
        carry.append(p, static_cast<std::size_t>(stop - p));
        if (carry.size() > record::kMaxRecordBytes) {
          skipping = true;
          carry.clear();
          carry.shrink_to_fit();
        }
      }
      if (nl == nullptr) return;
      if (skipping) {
        Parsed t;
        t.offset = carry_offset;
        t.kind = Parsed::Kind::too_large;
        t.detail = "line exceeds the 16 MiB record limit";
        ++sum.lines;
        bad_line(t);
        skipping = false;
      } else {
        lines.push_back({carry.data(), carry.size(), carry_offset});
        run_lines();
        carry.clear();
      }
      off += static_cast<std::uint64_t>(nl + 1 - p);
      p = nl + 1;
    }
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      if (nl == nullptr) {
        carry_offset = off;
        carry.assign(p, static_cast<std::size_t>(end - p));
        if (carry.size() > record::kMaxRecordBytes) {
          skipping = true;
          carry.clear();
        }
        break;
      }
      lines.push_back({p, static_cast<std::size_t>(nl - p), off});
      off += static_cast<std::uint64_t>(nl + 1 - p);
      p = nl + 1;
    }
    run_lines();
  }

  void begin_segment(const std::string& name, std::optional<std::uint64_t> first) {
    seg_name = name;
    seg_first_from_name = first;
    seg_first_line = true;
    seg_offset = 0;
    carry.clear();
    skipping = false;
    ++sum.segments;
  }

  void end_segment() {
    if (skipping || !carry.empty()) {
      Parsed t;
      t.offset = carry_offset;
      // §8.2 checks the LF (step 1) before the size (step 2): an unterminated tail is torn, however long.
      t.kind = Parsed::Kind::torn;
      t.detail = fmt::format("{} bytes at the end of the segment without a line feed", seg_offset - carry_offset);
      ++sum.lines;
      bad_line(t);
      carry.clear();
      skipping = false;
    }
  }

  VerifySummary finish() {
    flush_mac_run();
    if (pending) {
      const bool confirmed = opt.anchor && opt.anchor->seq == pending->r.seq && opt.anchor->head == pending->r.hash;
      resolve_pending(confirmed, confirmed);
    }
    for (const verifier_impl::Missing& m : missing) report_missing(m);
    // Checkpoint anchors the records never reached.
    for (; anchor_next < anchor_order.size(); ++anchor_next) {
      const std::size_t i = anchor_order[anchor_next];
      const verifier_impl::CheckpointInfo& c = anchor_info[i];
      const std::uint64_t have = sum.last_seq ? *sum.last_seq + 1 : 0;
      if (opt.start_seq.value_or(0) != 0) {
        ++sum.checkpoint_anchors_unchecked;  // a partial log (one segment) may legitimately end before it
      } else if (c.problem.empty() && c.size == 0 && sum.records == 0) {
        check_anchor(i, merkle::empty_root());
      } else if (!c.problem.empty() || (!log_id.empty() && opt.checkpoint_anchors[i].log_id != log_id)) {
        check_anchor(i, Hash{});
      } else if (have < c.size) {
        ++sum.checkpoint_anchors_checked;
        add(Reason::truncated_tail, have, seg_name, seg_offset,
            fmt::format("the log ends {}, but checkpoint anchor {} covers {} records: {} records were removed from "
                        "the end",
                        sum.last_seq ? fmt::format("at seq {}", *sum.last_seq) : std::string("before any record"), i + 1,
                        c.size, c.size - have),
            c.size - have);
      } else {
        ++sum.checkpoint_anchors_unchecked;  // damage reported earlier kept the tree from reaching this size
      }
    }
    if (opt.anchor) {
      sum.anchor_checked = true;
      if (!log_id.empty() && opt.anchor->log_id != log_id) {
        add(Reason::anchor_mismatch, opt.anchor->seq, seg_name, seg_offset,
            fmt::format("the anchor is for log {}, this log is {}", opt.anchor->log_id, log_id));
      } else if (!anchor_seen) {
        const std::uint64_t have = sum.last_seq ? *sum.last_seq + 1 : 0;
        if (!sum.last_seq || *sum.last_seq < opt.anchor->seq)
          add(Reason::truncated_tail, have, seg_name, seg_offset,
              fmt::format("the log ends {}, but the anchor records seq {}: {} records were removed from the end",
                          sum.last_seq ? fmt::format("at seq {}", *sum.last_seq) : std::string("before any record"),
                          opt.anchor->seq, opt.anchor->seq + 1 - have),
              opt.anchor->seq + 1 - have);
        else
          add(Reason::anchor_mismatch, opt.anchor->seq, seg_name, seg_offset,
              fmt::format("the anchored record {} is not in the log", opt.anchor->seq));
      }
    }
    std::stable_sort(sum.findings.begin(), sum.findings.end(), [](const Finding& a, const Finding& b) {
      return a.seq.value_or(UINT64_MAX) < b.seq.value_or(UINT64_MAX);
    });
    sum.log_id = log_id;
    if (tree_ok && sum.findings_total == 0) {
      sum.tree_size = frontier.size();
      sum.merkle_root = frontier.root();
    }
    sum.intact = sum.findings_total == 0;
    return std::move(sum);
  }
};

FA_INLINE ChainVerifier::ChainVerifier(VerifyOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
FA_INLINE ChainVerifier::~ChainVerifier() = default;

FA_INLINE void ChainVerifier::begin_segment(const std::string& name, std::optional<std::uint64_t> first) {
  impl_->begin_segment(name, first);
}
FA_INLINE void ChainVerifier::feed(std::string_view bytes) { impl_->feed(bytes); }
FA_INLINE void ChainVerifier::end_segment() { impl_->end_segment(); }
FA_INLINE VerifySummary ChainVerifier::finish() { return impl_->finish(); }
FA_INLINE Status ChainVerifier::hook_status() const { return impl_->hook_status; }

namespace verifier_impl {
inline Status feed_fd(ChainVerifier& v, int fd, const std::string& what) {
  return detail::read_chunks(fd, 4u << 20, [&v](std::string_view chunk) { v.feed(chunk); }, what);
}
}  // namespace verifier_impl

FA_INLINE Result<VerifySummary> ChainVerifier::verify_fd(int fd, const std::string& name) {
  begin_segment(name, std::nullopt);
  if (Status s = verifier_impl::feed_fd(*this, fd, name); !s) return s;
  end_segment();
  VerifySummary sum = finish();
  if (!impl_->hook_status.ok()) return impl_->hook_status;
  return sum;
}

FA_INLINE Result<VerifySummary> ChainVerifier::verify_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return detail::errno_status(fmt::format("stat {}", path), errno);
  std::vector<detail::SegmentInfo> segs;
  if (S_ISDIR(st.st_mode)) {
    Result<std::vector<detail::SegmentInfo>> r = detail::list_segments(path);
    if (!r) return r.status();
    segs = std::move(r.value());
  } else {
    const auto slash = path.find_last_of('/');
    detail::SegmentInfo one;
    one.path = path;
    one.name = slash == std::string::npos ? path : path.substr(slash + 1);
    const auto first = detail::parse_segment_name(one.name);
    one.first_seq = first.value_or(0);
    if (!impl_->opt.start_seq && first && *first != 0) {
      impl_->opt.start_seq = *first;  // one segment of a longer log: start where its name says
      impl_->tree_ok = false;
    }
    segs.push_back(one);
  }
  for (const detail::SegmentInfo& s : segs) {
    const int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return detail::errno_status(fmt::format("open {}", s.path), errno);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    begin_segment(s.name, detail::parse_segment_name(s.name));
    Status st2 = verifier_impl::feed_fd(*this, fd, s.path);
    ::close(fd);
    if (!st2) return st2;
    end_segment();
  }
  VerifySummary sum = finish();
  if (!impl_->hook_status.ok()) return impl_->hook_status;
  return sum;
}

namespace verifier_impl {
// What was checked and what could not be (docs/log-format.md §8.3), one line per guarantee.
inline std::string guarantees_mac(const VerifySummary& s) {
  if (!s.mac_key_problem.empty()) return "NOT CHECKED: the MAC key could not be used (" + s.mac_key_problem + ")";
  if (!s.uses_macs && s.macs_unchecked > 0)
    return fmt::format("NOT CHECKED: the log has no MACs from its start, yet {} record(s) carry one", s.macs_unchecked);
  if (!s.uses_macs) return "none in this log (checked: chain only)";
  if (s.macs_checked > 0 && s.macs_unchecked == 0)
    return fmt::format("checked: {} record MACs verified, epochs {}..{}", s.macs_checked, s.mac_first_epoch.value_or(0),
                       s.mac_last_epoch.value_or(0));
  if (s.macs_checked > 0)
    return fmt::format("partly checked: {} verified, {} not checkable with this key", s.macs_checked, s.macs_unchecked);
  return fmt::format("NOT CHECKED: {} records carry MACs (epochs {}..{}); give the seed with --mac-key", s.macs_unchecked,
                     s.mac_first_epoch.value_or(0), s.mac_last_epoch.value_or(0));
}
// An optional member of the JSON summary: its value, or null when absent.
template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
inline nlohmann::json hex_or_null(const std::optional<Hash>& h) {
  return h ? nlohmann::json(detail::to_hex(*h)) : nlohmann::json(nullptr);
}
inline std::string guarantees_checkpoints(const VerifySummary& s) {
  if (s.checkpoints == 0) return "none in this log";
  std::string out;
  if (s.checkpoints_verified > 0) {
    out = fmt::format("checked: {} signed checkpoint(s) verified (key {})", s.checkpoints_verified,
                      fmt::join(s.signing_keys, ", "));
  } else if (s.checkpoints_sig_unchecked > 0) {
    out = fmt::format("NOT CHECKED: {} signed checkpoint(s), signatures not checked; give trusted keys with --key",
                      s.checkpoints_sig_unchecked);
  } else {
    out = "no signed checkpoint";
  }
  if (s.checkpoints_unsigned > 0) out += fmt::format("; {} unsigned (signer unavailable)", s.checkpoints_unsigned);
  if (s.checkpoint_roots_unchecked > 0)
    out += fmt::format("; {} root(s) NOT compared with the records (partial log before its first checkpoint, or "
                       "damage reported earlier)",
                       s.checkpoint_roots_unchecked);
  // The checkpoint record of size N is record N itself: the records it does not cover come after it.
  if (s.last_signed_checkpoint && s.last_seq && *s.last_seq > *s.last_signed_checkpoint)
    out += fmt::format("; {} record(s) after the last signed checkpoint (size {}) are covered by the chain{} only",
                       *s.last_seq - *s.last_signed_checkpoint, *s.last_signed_checkpoint,
                       s.uses_macs ? " and MACs" : "");
  return out;
}

inline std::string summary_guarantees_text(const VerifySummary& s) {
  std::string out;
  out += "chain        checked\n";
  out += fmt::format("macs         {}\n", verifier_impl::guarantees_mac(s));
  out += fmt::format("checkpoints  {}\n", verifier_impl::guarantees_checkpoints(s));
  if (s.checkpoint_anchors_checked > 0 || s.checkpoint_anchors_unchecked > 0)
    out += fmt::format("anchors      {} checkpoint anchor(s) compared with the log{}\n", s.checkpoint_anchors_checked,
                       s.checkpoint_anchors_unchecked > 0
                           ? fmt::format("; {} NOT compared (partial log, or damage reported earlier)",
                                         s.checkpoint_anchors_unchecked)
                           : std::string());
  else if (!s.anchor_checked)
    out += "anchors      NOT CHECKED: none given (deleting the newest records is detected only with an anchor)\n";
  return out;
}
}  // namespace verifier_impl

FA_INLINE std::string format_summary_text(const VerifySummary& s) {
  std::string out;
  if (s.intact) {
    out += fmt::format("INTACT: {} records", s.records);
    if (s.first_seq) out += fmt::format(" (seq {}..{})", *s.first_seq, *s.last_seq);
    out += fmt::format(" in {} segment(s), {} bytes\n", s.segments, s.bytes);
  } else {
    out += fmt::format("TAMPERED OR DAMAGED: {} finding(s) in {} records, {} segment(s), {} bytes\n",
                       s.findings_total, s.records, s.segments, s.bytes);
    for (const Finding& f : s.findings) {
      out += fmt::format("  {:<22} seq {:<10} {} @ byte {}: {}\n", reason_name(f.reason),
                         f.seq ? fmt::format("{}{}", *f.seq, f.seq_inferred ? "?" : "") : std::string("-"), f.segment,
                         f.offset, f.detail);
    }
    if (s.findings_total > s.findings.size())
      out += fmt::format("  ... and {} more\n", s.findings_total - s.findings.size());
  }
  if (!s.log_id.empty()) out += fmt::format("log_id       {}\n", s.log_id);
  if (s.first_seq) out += fmt::format("time         {} .. {}\n", s.first_ts, s.last_ts);
  if (s.head) out += fmt::format("head         {} (seq {})\n", detail::to_hex(*s.head), *s.last_seq);
  if (s.merkle_root) out += fmt::format("merkle root  {} (tree size {})\n", detail::to_hex(*s.merkle_root), s.tree_size);
  if (s.anchor_checked) out += fmt::format("anchor       {}\n", s.intact ? "consistent" : "checked (see findings)");
  out += verifier_impl::summary_guarantees_text(s);
  return out;
}

FA_INLINE std::string format_summary_json(const VerifySummary& s) {
  nlohmann::json j;
  j["intact"] = s.intact;
  j["records"] = s.records;
  j["lines"] = s.lines;
  j["bytes"] = s.bytes;
  j["segments"] = s.segments;
  j["log_id"] = s.log_id;
  j["first_seq"] = verifier_impl::or_null(s.first_seq);
  j["last_seq"] = verifier_impl::or_null(s.last_seq);
  j["first_ts"] = s.first_ts;
  j["last_ts"] = s.last_ts;
  j["head"] = verifier_impl::hex_or_null(s.head);
  j["merkle_root"] = verifier_impl::hex_or_null(s.merkle_root);
  j["tree_size"] = s.tree_size;
  j["anchor_checked"] = s.anchor_checked;
  j["macs_unchecked"] = s.macs_unchecked;
  j["uses_macs"] = s.uses_macs;
  j["macs_checked"] = s.macs_checked;
  j["mac_first_epoch"] = verifier_impl::or_null(s.mac_first_epoch);
  j["mac_last_epoch"] = verifier_impl::or_null(s.mac_last_epoch);
  j["mac_key_problem"] = s.mac_key_problem;
  j["checkpoints"] = s.checkpoints;
  j["checkpoints_verified"] = s.checkpoints_verified;
  j["checkpoints_sig_unchecked"] = s.checkpoints_sig_unchecked;
  j["checkpoints_unsigned"] = s.checkpoints_unsigned;
  j["last_signed_checkpoint"] = verifier_impl::or_null(s.last_signed_checkpoint);
  j["signing_keys"] = s.signing_keys;
  j["checkpoint_anchors_checked"] = s.checkpoint_anchors_checked;
  j["checkpoint_anchors_unchecked"] = s.checkpoint_anchors_unchecked;
  j["checkpoint_roots_unchecked"] = s.checkpoint_roots_unchecked;
  j["guarantees"] = {{"chain", "checked"},
                     {"macs", verifier_impl::guarantees_mac(s)},
                     {"checkpoints", verifier_impl::guarantees_checkpoints(s)}};
  j["findings_total"] = s.findings_total;
  nlohmann::json fs = nlohmann::json::array();
  for (const Finding& f : s.findings) {
    fs.push_back({{"reason", reason_name(f.reason)},
                  {"seq", verifier_impl::or_null(f.seq)},
                  {"seq_inferred", f.seq_inferred},
                  {"count", f.count},
                  {"segment", f.segment},
                  {"offset", f.offset},
                  {"detail", f.detail}});
  }
  j["findings"] = fs;
  return j.dump(2);
}

}  // namespace fooocus_audit
