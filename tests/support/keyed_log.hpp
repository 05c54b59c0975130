// SPDX-License-Identifier: Apache-2.0
#pragma once
// A log written with forward-secure MACs and signed checkpoints, and an attacker that can rewrite it:
// recompute every hash, re-sign checkpoints with a key of its own, and re-tag records with the MAC key it
// found on the host (the current epoch's).

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fooocus_audit/fooocus_audit.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/mac_key.hpp"
#include "fooocus_audit/signed_note.hpp"
#include "fooocus_audit/signer.hpp"
#include "files.hpp"
#include "log_fixture.hpp"
#include "logger_support.hpp"

namespace fa_test {

namespace fa = fooocus_audit;

inline fa::note::SigningKey new_signing_key(const std::string& name = "audit.example/fooocus") {
  auto k = fa::note::SigningKey::generate(name);
  if (!k) throw std::runtime_error(k.status().to_string());
  return std::move(k.value());
}

/// Key material of one keyed log: the auditor's seed copy, the writer's key file, the signing key.
struct KeyedLog {
  TempDir tmp;
  std::string dir = tmp / "log";
  std::string seed_copy = tmp / "auditor-mac.key";  ///< what the auditor keeps off the host
  std::string writer_key = tmp / "writer-mac.key";  ///< the seed given to the writer, evolved in place
  std::string anchor_file = tmp / "checkpoints.anchor";
  fa::note::VerifierKey verifier;
  std::shared_ptr<fa::LocalSigner> signer;

  explicit KeyedLog(fa::note::SigningKey key = new_signing_key()) {
    auto seed = fa::mac::Seed::generate();
    if (!seed || !seed->save(seed_copy) || !seed->save(writer_key)) throw std::runtime_error("cannot write seeds");
    verifier = key.verifier();
    signing_text_ = key.text();
    signer = std::make_shared<fa::LocalSigner>(std::move(key));
  }
  ~KeyedLog() { fa::detail::secure_wipe(signing_text_.data(), signing_text_.size()); }

  /// Another copy of the log's signing key (tests that play the writer again, or the attacker who stole it).
  fa::note::SigningKey signing_key() const { return fa::note::SigningKey::parse(signing_text_).value(); }

 private:
  std::string signing_text_;

 public:

  /// Writer options: MACs, checkpoints, an anchor file, small epochs and segments so that a few hundred
  /// records cross many epochs, checkpoints and segments.
  fa::LoggerOptions options() const {
    fa::LoggerOptions o = options_for(dir);
    o.mac_key_path = writer_key;
    o.mac_epoch_records = 40;
    o.signer = signer;
    o.checkpoint_records = 64;
    o.checkpoint_anchor_path = anchor_file;
    o.max_segment_bytes = 64 * 1024;
    return o;
  }

  void write(int events, const std::string& prefix = "req_") const {
    auto lg = must_open(options());
    for (int i = 0; i < events; ++i)
      if (!lg->log(generation_event(prefix + std::to_string(i)))) throw std::runtime_error("log failed");
    if (!lg->close()) throw std::runtime_error("close failed");
  }

  /// Verifier options with everything the auditor holds.
  fa::VerifyOptions full() const {
    fa::VerifyOptions o;
    o.mac_key_path = seed_copy;
    o.trusted_keys = {verifier};
    auto anchors = fa::AnchorSet::load(anchor_file);
    if (anchors) o.checkpoint_anchors = anchors->checkpoints;
    return o;
  }
};

/// The attacker's rewrite of a log image from record `from` on: links recomputed, checkpoint records given
/// the roots of the rewritten log (and, with `resign`, new notes signed by that key), and, with `retag`,
/// fresh MACs under the epoch key the attacker holds (claiming `retag_epoch`, or the key's own epoch).
struct Rewrite {
  const fa::note::SigningKey* resign = nullptr;
  const fa::mac::EpochKey* retag = nullptr;
  std::optional<std::uint64_t> retag_epoch;
  bool update_checkpoints = true;
};

/// Returns a record re-tagged under `key`, claiming `epoch` in its mac member.
inline std::string retag(const Rec& r, const fa::mac::EpochKey& key, std::uint64_t epoch) {
  Rec plain = r;
  plain.mac.clear();
  fa::mac::RecordMac m(key);
  const fa::Hash tag = m.tag(fa::merkle::leaf_hash(build(plain)));
  Rec out = r;
  out.mac = R"(,"mac":{"epoch":)" + std::to_string(epoch) + R"(,"tag":")" + fa::detail::to_hex(tag) + R"("})";
  return build(out);
}

inline void rewrite_from(LogImage& img, std::uint64_t from, const Rewrite& how) {
  fa::merkle::Frontier tree;
  std::string before;
  bool on = false;
  for (LogImage::Segment& s : img.segs)
    for (std::string& l : s.lines) {
      Rec r = parse_rec(l);
      if (r.seq == from) on = true;
      if (on) {
        r.prev = before.empty() ? fa::record::genesis_hash(r.log_id) : chain_hash(before);
        nlohmann::json ev = nlohmann::json::parse(r.event);
        if (how.update_checkpoints && ev["event_type"] == "log.checkpoint") {
          ev["size"] = tree.size();
          ev["root"] = fa::detail::to_hex(tree.root());
          nlohmann::json nodes = nlohmann::json::array();
          for (const fa::Hash& h : tree.nodes()) nodes.push_back(fa::detail::to_hex(h));
          ev["frontier"] = nodes;
          if (how.resign != nullptr) {
            fa::note::Checkpoint c{fa::note::checkpoint_origin(how.resign->verifier().name, r.log_id), tree.size(),
                                   tree.root(), {}};
            auto signed_note = fa::note::sign_note(fa::note::format_checkpoint(c), *how.resign);
            if (!signed_note) throw std::runtime_error(signed_note.status().to_string());
            ev["note"] = signed_note.value();
          }
          r.event = fa::jcs::serialize(ev);
        }
        l = build(r);
        if (how.retag != nullptr && !r.mac.empty()) l = retag(r, *how.retag, how.retag_epoch.value_or(how.retag->epoch()));
      }
      tree.append(chain_hash(l));
      before = l;
    }
  if (!on) throw std::runtime_error("rewrite_from: record not found");
}

/// Sequence numbers of the records of one event type.
inline std::vector<std::uint64_t> seqs_of(const LogImage& img, std::string_view type) {
  std::vector<std::uint64_t> out;
  for (const LogImage::Segment& s : img.segs)
    for (const std::string& l : s.lines) {
      const Rec r = parse_rec(l);
      if (nlohmann::json::parse(r.event)["event_type"] == type) out.push_back(r.seq);
    }
  return out;
}

inline std::uint64_t epoch_of(const std::string& line) {
  fa::record::View v;
  if (!fa::record::parse(line, &v) || !v.has_mac) throw std::runtime_error("no mac");
  return v.mac_epoch;
}

}  // namespace fa_test
