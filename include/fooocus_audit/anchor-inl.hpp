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

#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/jcs.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit {

FA_INLINE std::string Anchor::to_json() const {
  const nlohmann::json j = {{"head", detail::to_hex(head)}, {"log_id", log_id}, {"seq", seq}, {"ts", ts}, {"v", 1}};
  return jcs::serialize(j);
}

FA_INLINE Result<Anchor> Anchor::parse(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [](std::string why) { return Status(Code::invalid_argument, "anchor: " + std::move(why)); };
  if (!j.is_object()) return bad("not a JSON object");
  Anchor a;
  if (!j.contains("v") || !j["v"].is_number_integer() || j["v"].get<std::int64_t>() != 1) return bad("v must be 1");
  if (!j.contains("log_id") || !j["log_id"].is_string() || !record::valid_log_id(j["log_id"].get<std::string>()))
    return bad("log_id must be 32 lowercase hex characters");
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
  for (const auto& item : j.items())
    if (item.key() != "v" && item.key() != "log_id" && item.key() != "seq" && item.key() != "head" && item.key() != "ts")
      return bad(fmt::format("unexpected member {}", item.key()));
  return a;
}

FA_INLINE Result<Anchor> Anchor::load(const std::string& path) {
  Result<std::string> text = detail::read_file(path);
  if (!text) return text.status();
  Result<Anchor> a = parse(text.value());
  if (!a) return Status(a.status().code(), fmt::format("{}: {}", path, a.status().message()));
  return a;
}

FA_INLINE Status Anchor::save(const std::string& path) const {
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return detail::errno_status(fmt::format("create {}", tmp), errno);
  const std::string text = to_json() + "\n";
  Status s = detail::write_all(fd, text.data(), text.size(), tmp);
  if (s && ::fsync(fd) != 0) s = detail::errno_status(fmt::format("fsync {}", tmp), errno);
  ::close(fd);
  if (s && ::rename(tmp.c_str(), path.c_str()) != 0) s = detail::errno_status(fmt::format("rename {}", path), errno);
  if (!s) {
    ::unlink(tmp.c_str());
    return s;
  }
  const auto slash = path.find_last_of('/');
  return detail::fsync_dir(slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash));
}

FA_INLINE std::string CheckpointAnchor::to_json() const {
  const nlohmann::json j = {{"checkpoint", note}, {"log_id", log_id}, {"v", 1}};
  return jcs::serialize(j);
}

FA_INLINE Result<CheckpointAnchor> CheckpointAnchor::parse(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [](std::string why) { return Status(Code::invalid_argument, "checkpoint anchor: " + std::move(why)); };
  if (!j.is_object()) return bad("not a JSON object");
  if (!j.contains("v") || !j["v"].is_number_integer() || j["v"].get<std::int64_t>() != 1) return bad("v must be 1");
  if (!j.contains("log_id") || !j["log_id"].is_string() || !record::valid_log_id(j["log_id"].get<std::string>()))
    return bad("log_id must be 32 lowercase hex characters");
  if (!j.contains("checkpoint") || !j["checkpoint"].is_string()) return bad("checkpoint must be a string");
  for (const auto& item : j.items())
    if (item.key() != "v" && item.key() != "log_id" && item.key() != "checkpoint")
      return bad(fmt::format("unexpected member {}", item.key()));
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
  Result<std::string> text = detail::read_file(path);
  if (!text) return text.status();
  Result<AnchorSet> a = parse(text.value());
  if (!a) return Status(a.status().code(), fmt::format("{}: {}", path, a.status().message()));
  return a;
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
  const auto slash = path.find_last_of('/');
  return detail::fsync_dir(slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash));
}

}  // namespace fooocus_audit
