// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/anchor.hpp"
#endif

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <initializer_list>

#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit {
namespace anchor_impl {

// The JSON object on one anchor line (trailing white space ignored), once its "v" is 1 and its "log_id" is a
// log id: the members every kind of anchor has. Errors read "<what>: <why>".
inline Result<nlohmann::json> parse_object(std::string_view text, std::string_view what) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](std::string_view why) {
    return Status(Code::invalid_argument, fmt::format("{}: {}", what, why));
  };
  if (!j.is_object()) return bad("not a JSON object");
  if (!j.contains("v") || !j["v"].is_number_integer() || j["v"].get<std::int64_t>() != 1) return bad("v must be 1");
  if (!j.contains("log_id") || !j["log_id"].is_string() || !record::valid_log_id(j["log_id"].get<std::string>()))
    return bad("log_id must be 32 lowercase hex characters");
  return j;
}

// "<what>: unexpected member <key>" for the first member of j not in `members`.
inline Status only_members(const nlohmann::json& j, std::initializer_list<std::string_view> members,
                           std::string_view what) {
  for (const auto& item : j.items())
    if (std::find(members.begin(), members.end(), item.key()) == members.end())
      return {Code::invalid_argument, fmt::format("{}: unexpected member {}", what, item.key())};
  return {};
}

}  // namespace anchor_impl

FA_INLINE std::string Anchor::to_json() const {
  const nlohmann::json j = {{"head", detail::to_hex(head)}, {"log_id", log_id}, {"seq", seq}, {"ts", ts}, {"v", 1}};
  return jcs::serialize(j);
}

FA_INLINE Result<Anchor> Anchor::parse(std::string_view text) {
  Result<nlohmann::json> parsed = anchor_impl::parse_object(text, "anchor");
  if (!parsed) return parsed.status();
  const nlohmann::json& j = parsed.value();
  auto bad = [](std::string why) { return Status(Code::invalid_argument, "anchor: " + std::move(why)); };
  Anchor a;
  a.log_id = j["log_id"].get<std::string>();
  if (!j.contains("seq") || !j["seq"].is_number_unsigned() || j["seq"].get<std::uint64_t>() > static_cast<std::uint64_t>(record::kMaxSafeInteger))
    return bad("seq must be a non-negative integer");
  a.seq = j["seq"].get<std::uint64_t>();
  if (!j.contains("head") || !j["head"].is_string() || !detail::parse_hash_hex(j["head"].get<std::string>(), &a.head))
    return bad("head must be 64 lowercase hex characters");
  std::int64_t micros = 0;
  if (!j.contains("ts") || !j["ts"].is_string() || !record::parse_timestamp(j["ts"].get<std::string>(), &micros))
    return bad("ts must be YYYY-MM-DDTHH:MM:SS.ffffffZ");
  a.ts = j["ts"].get<std::string>();
  if (Status s = anchor_impl::only_members(j, {"v", "log_id", "seq", "head", "ts"}, "anchor"); !s) return s;
  return a;
}

FA_INLINE Result<Anchor> Anchor::load(const std::string& path) {
  return detail::parse_file<Anchor>(path, parse);
}

FA_INLINE Status Anchor::save(const std::string& path) const {
  return detail::write_file_atomic(path, to_json() + "\n", 0600);
}

FA_INLINE std::string CheckpointAnchor::to_json() const {
  const nlohmann::json j = {{"checkpoint", note}, {"log_id", log_id}, {"v", 1}};
  return jcs::serialize(j);
}

FA_INLINE Result<CheckpointAnchor> CheckpointAnchor::parse(std::string_view text) {
  Result<nlohmann::json> parsed = anchor_impl::parse_object(text, "checkpoint anchor");
  if (!parsed) return parsed.status();
  const nlohmann::json& j = parsed.value();
  auto bad = [](std::string why) { return Status(Code::invalid_argument, "checkpoint anchor: " + std::move(why)); };
  if (!j.contains("checkpoint") || !j["checkpoint"].is_string()) return bad("checkpoint must be a string");
  if (Status s = anchor_impl::only_members(j, {"v", "log_id", "checkpoint"}, "checkpoint anchor"); !s)
    return s;
  CheckpointAnchor a;
  a.log_id = j["log_id"].get<std::string>();
  a.note = j["checkpoint"].get<std::string>();
  if (a.note.empty() || a.note.size() > 1u << 20) return bad("checkpoint note is empty or larger than 1 MiB");
  return a;
}

FA_INLINE Result<AnchorSet> AnchorSet::parse(std::string_view text) {
  AnchorSet set;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() && text.empty()) break;
    auto at = [&](const Status& s) {
      return Status(s.code(), fmt::format("line {}: {}", line_no, s.message()));
    };
    if (line.find(R"("checkpoint":)") != std::string_view::npos) {
      Result<CheckpointAnchor> c = CheckpointAnchor::parse(line);
      if (!c) return at(c.status());
      set.checkpoints.push_back(std::move(c.value()));
    } else {
      Result<Anchor> h = Anchor::parse(line);
      if (!h) return at(h.status());
      set.heads.push_back(std::move(h.value()));
    }
  }
  if (set.heads.empty() && set.checkpoints.empty())
    return Status(Code::invalid_argument, "anchor file holds no anchor");
  return set;
}

FA_INLINE Result<AnchorSet> AnchorSet::load(const std::string& path) {
  return detail::parse_file<AnchorSet>(path, parse);
}

FA_INLINE Status append_checkpoint_anchor(const std::string& path, const CheckpointAnchor& anchor) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return detail::errno_status(fmt::format("open {}", path), errno);
  struct stat st {};
  const bool fresh = ::fstat(fd, &st) == 0 && st.st_size == 0;
  const std::string line = anchor.to_json() + "\n";
  Status s = detail::write_all(fd, line.data(), line.size(), path);
  if (s && ::fsync(fd) != 0) s = detail::errno_status(fmt::format("fsync {}", path), errno);
  ::close(fd);
  if (!s || !fresh) return s;
  return detail::fsync_dir(detail::parent_dir(path));
}

}  // namespace fooocus_audit
