// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/model_registry.hpp"
#endif

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit {

FA_INLINE std::string_view model_kind_name(ModelKind k) noexcept { return events::to_string(k); }

FA_INLINE std::optional<ModelKind> parse_model_kind(std::string_view s) noexcept {
  for (ModelKind k : {ModelKind::base, ModelKind::refiner, ModelKind::lora, ModelKind::vae, ModelKind::other})
    if (model_kind_name(k) == s) return k;
  return std::nullopt;
}

FA_INLINE std::string_view model_state_name(ModelState s) noexcept {
  switch (s) {
    case ModelState::pending:
      return "pending";
    case ModelState::approved:
      return "approved";
    case ModelState::deprecated:
      return "deprecated";
    case ModelState::revoked:
      return "revoked";
  }
  return "pending";
}

FA_INLINE std::string_view model_problem_name(ModelProblem p) noexcept { return events::to_string(p); }

FA_INLINE nlohmann::json model_version_json(const ModelVersion& m) {
  nlohmann::json transitions = nlohmann::json::array();
  for (const ModelTransition& t : m.transitions)
    transitions.push_back(
        {{"state", model_state_name(t.to)}, {"actor", t.actor}, {"reason", t.reason}, {"at", t.at}});
  nlohmann::json lora = nullptr;
  if (m.lora)
    lora = {{"trained_by", m.lora->trained_by},
            {"dataset_id", m.lora->dataset_id},
            {"parameters", m.lora->parameters},
            {"recorded_at", m.lora->recorded_at}};
  return {{"model_id", m.model_id},
          {"version", m.version},
          {"kind", model_kind_name(m.kind)},
          {"state", model_state_name(m.state)},
          {"sha256", m.sha256},
          {"size_bytes", m.size_bytes ? nlohmann::json(*m.size_bytes) : nlohmann::json(nullptr)},
          {"path", m.path},
          {"source", m.source},
          {"registered_by", m.registered_by},
          {"registered_at", m.registered_at},
          {"transitions", std::move(transitions)},
          {"lora", std::move(lora)}};
}

FA_INLINE Result<FileDigest> hash_model_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detail::errno_status(fmt::format("open {}", path), errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return detail::errno_status(fmt::format("stat {}", path), err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(Code::invalid_argument, fmt::format("{} is not a regular file", path));
  }
  // Doubles the kernel's read-ahead: on a cold cache the disk keeps streaming while SHA-256 runs.
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  // 256 KiB reads stay in L2 between the copy out of the page cache and the hash. bench_model_hash --explore:
  // reads of 32 KiB to 4 MiB within 4 % of each other, mmap 3 % faster, 95 % of SHA-256 without any I/O.
  constexpr std::size_t kChunk = std::size_t{256} << 10;
  std::unique_ptr<unsigned char[]> buf(new unsigned char[kChunk]);
  detail::Sha256 h;
  std::uint64_t size = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.get(), kChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return detail::errno_status(fmt::format("read {}", path), err);
    }
    if (n == 0) break;
    h.update(buf.get(), static_cast<std::size_t>(n));
    size += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return FileDigest{"sha256:" + detail::to_hex(h.final()), size};
}

namespace registry_impl {

using nlohmann::json;

inline std::int64_t realtime_micros() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

/// "sha256:<64 lowercase hex>" from that form or bare hex, in either case; nullopt for anything else.
inline std::optional<std::string> normalize_sha256(std::string_view s) {
  if (s.size() == 71 && s.substr(0, 7) == "sha256:") s.remove_prefix(7);
  if (s.size() != 64) return std::nullopt;
  std::string out = "sha256:";
  for (char c : s) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    out.push_back(c);
  }
  return out;
}

/// Reads the string members of an event; the first problem found is kept in `error`.
struct Fields {
  const json& e;
  Status error;

  /// A string member that must be present and non-empty.
  std::string required(const char* name) {
    const auto it = e.find(name);
    if (it == e.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      fail(fmt::format("{}: required, a non-empty string", name));
      return {};
    }
    return it->get<std::string>();
  }
  /// A string member that may be absent ("").
  std::string optional(const char* name) {
    const auto it = e.find(name);
    if (it == e.end()) return {};
    if (!it->is_string()) {
      fail(fmt::format("{}: must be a string", name));
      return {};
    }
    return it->get<std::string>();
  }
  void fail(std::string message) {
    if (error) error = Status(Code::invalid_argument, std::move(message));
  }
};

inline std::string describe(std::string_view id, std::string_view version) {
  return fmt::format("model {} version {}", id, version);
}

/// Whether `from` may go to `to` (pending -> approved -> deprecated -> revoked; revoked from any earlier
/// state).
inline bool legal(ModelState from, ModelState to) {
  switch (to) {
    case ModelState::approved:
      return from == ModelState::pending;
    case ModelState::deprecated:
      return from == ModelState::approved;
    case ModelState::revoked:
      return from != ModelState::revoked;
    case ModelState::pending:
      return false;
  }
  return false;
}

inline std::string_view verb(ModelState to) {
  switch (to) {
    case ModelState::approved:
      return "approve";
    case ModelState::deprecated:
      return "deprecate";
    case ModelState::revoked:
      return "revoke";
    case ModelState::pending:
      return "reset";
  }
  return "change";
}

/// A model.* or lora.* record collected while the log is verified.
struct Collected {
  std::uint64_t seq = 0;
  std::string ts;
  json event;
};

// The byte patterns a model.* or lora.* record contains: records are canonical JSON (no white space), and a
// valid event_type needs no escaping. A line with a pattern inside some other string is parsed and then
// skipped.
constexpr std::string_view kModelPattern = R"("event_type":"model.)";
constexpr std::string_view kLoraPattern = R"("event_type":"lora.)";

/// Finds the lines of `block` (complete lines, each ending in LF) that may hold model.* or lora.* records and
/// appends those that do to `out`.
inline void collect(std::string_view block, std::vector<Collected>& out) {
  std::vector<std::pair<std::size_t, std::size_t>> lines;  // [begin, end) without the LF
  for (std::string_view pattern : {kModelPattern, kLoraPattern}) {
    std::size_t from = 0;
    while (from < block.size()) {
      const void* hit = ::memmem(block.data() + from, block.size() - from, pattern.data(), pattern.size());
      if (hit == nullptr) break;
      const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(hit) - block.data());
      const void* before = at == 0 ? nullptr : ::memrchr(block.data(), '\n', at);
      const std::size_t begin =
          before == nullptr ? 0
                            : static_cast<std::size_t>(static_cast<const char*>(before) - block.data()) + 1;
      const void* after = std::memchr(block.data() + at, '\n', block.size() - at);
      const std::size_t end = after == nullptr
                                  ? block.size()
                                  : static_cast<std::size_t>(static_cast<const char*>(after) - block.data());
      lines.emplace_back(begin, end);
      from = end + 1;
    }
  }
  std::sort(lines.begin(), lines.end());
  lines.erase(std::unique(lines.begin(), lines.end()), lines.end());
  for (const auto& [begin, end] : lines) {
    record::View v;
    if (!record::parse(block.substr(begin, end - begin), &v)) continue;  // the verifier reports it
    if (v.event_type.rfind("model.", 0) != 0 && v.event_type.rfind("lora.", 0) != 0) continue;
    json ev = json::parse(v.event, nullptr, /*allow_exceptions=*/false);
    if (ev.is_discarded() || !ev.is_object()) continue;
    out.push_back({v.seq, std::string(v.ts), std::move(ev)});
  }
}

/// Feeds one segment to the verifier in blocks of whole lines and collects the registry's records. An
/// unterminated last line is fed too (the verifier reports it as torn) unless `drop_unterminated_tail`: the
/// newest segment of a log whose writer is running may end in a record still being written.
inline Status read_segment(ChainVerifier& verifier, const detail::SegmentInfo& seg,
                           bool drop_unterminated_tail, std::vector<Collected>& out) {
  const int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detail::errno_status(fmt::format("open {}", seg.path), errno);
  (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  verifier.begin_segment(seg.name, detail::parse_segment_name(seg.name));
  constexpr std::size_t kChunk = std::size_t{4} << 20;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  std::string carry;       // the start of a line continued in the next read
  bool oversized = false;  // carry was handed over unscanned: the line exceeds the record limit
  for (;;) {
    const ssize_t r = ::read(fd, buf.get(), kChunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return detail::errno_status(fmt::format("read {}", seg.path), err);
    }
    if (r == 0) break;
    const std::string_view chunk(buf.get(), static_cast<std::size_t>(r));
    const std::size_t last_nl = chunk.rfind('\n');
    if (last_nl == std::string_view::npos) {
      carry.append(chunk);
      if (carry.size() > record::kMaxRecordBytes) {  // not a record: let the verifier report it
        verifier.feed(carry);
        carry.clear();
        oversized = true;
      }
      continue;
    }
    std::string_view rest = chunk.substr(0, last_nl + 1);
    if (!carry.empty() || oversized) {
      const std::size_t first_nl = rest.find('\n');
      carry.append(rest.substr(0, first_nl + 1));
      if (!oversized) collect(carry, out);
      verifier.feed(carry);
      carry.clear();
      oversized = false;
      rest.remove_prefix(first_nl + 1);
    }
    if (!rest.empty()) {
      collect(rest, out);
      verifier.feed(rest);
    }
    carry.assign(chunk.substr(last_nl + 1));
  }
  ::close(fd);
  if (!carry.empty() && !drop_unterminated_tail) verifier.feed(carry);
  verifier.end_segment();
  return {};
}

}  // namespace registry_impl

struct ModelVersionRegistry::Impl {
  AuditLogger* logger = nullptr;
  std::function<std::int64_t()> clock;
  mutable std::mutex mu;
  std::vector<ModelVersion> entries;  // registration order
  std::map<std::pair<std::string, std::string>, std::size_t> index;
  std::vector<ReplayNote> notes;
  std::uint64_t replayed = 0;

  std::string now() const {
    return record::format_timestamp(clock ? clock() : registry_impl::realtime_micros());
  }

  ModelVersion* lookup(const std::string& id, const std::string& version) {
    const auto it = index.find({id, version});
    return it == index.end() ? nullptr : &entries[it->second];
  }

  /// Checks that `e` is a legal step from the current state and, with `apply`, takes it. The one place that
  /// defines what model.* and lora.* events mean: open() replays the log through it, and every change made
  /// through the API passes it before its event is logged. `record_ts` dates an event that has no
  /// `timestamp`.
  Status step(const nlohmann::json& e, std::string_view record_ts, bool apply) {
    using registry_impl::describe;
    const std::string& type = e.at("event_type").get_ref<const std::string&>();
    registry_impl::Fields f{e, {}};
    std::string at = f.optional("timestamp");
    if (at.empty()) at = std::string(record_ts);

    if (type == "model.registered") {
      ModelVersion m;
      m.model_id = f.required("model_id");
      m.version = f.required("version");
      m.registered_by = f.required("registered_by");
      const std::string sha = f.required("sha256");
      m.path = f.optional("path");
      m.source = f.optional("source");
      const std::string kind = f.optional("kind");
      if (!f.error) return f.error;
      const std::optional<std::string> norm = registry_impl::normalize_sha256(sha);
      if (!norm || *norm != sha)
        return {Code::invalid_argument, "sha256: must be \"sha256:<64 lowercase hex>\""};
      m.sha256 = *norm;
      if (!kind.empty()) {
        const std::optional<ModelKind> k = parse_model_kind(kind);
        if (!k) return {Code::invalid_argument, "kind: must be base, refiner, lora, vae or other"};
        m.kind = *k;
      }
      if (const auto it = e.find("size_bytes"); it != e.end()) {
        if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0))
          return {Code::invalid_argument, "size_bytes: must be an integer >= 0"};
        m.size_bytes = it->get<std::uint64_t>();
      }
      if (lookup(m.model_id, m.version) != nullptr)
        return {Code::invalid_argument, describe(m.model_id, m.version) + " is registered already"};
      m.registered_at = at;
      if (apply) {
        index[{m.model_id, m.version}] = entries.size();
        entries.push_back(std::move(m));
      }
      return {};
    }

    const bool lora_event = type.rfind("lora.", 0) == 0;
    std::optional<ModelState> to;
    if (type == "model.approved" || type == "lora.approved") to = ModelState::approved;
    if (type == "model.deprecated") to = ModelState::deprecated;
    if (type == "model.revoked") to = ModelState::revoked;
    if (to) {
      const std::string id = f.required(lora_event ? "lora_id" : "model_id");
      const std::string version = f.required("version");
      const std::string actor = f.required(type == "lora.approved" ? "approved_by" : "actor");
      const std::string reason = f.optional("reason");
      if (!f.error) return f.error;
      ModelVersion* m = lookup(id, version);
      if (m == nullptr) return {Code::not_found, describe(id, version) + " is not registered"};
      if (!registry_impl::legal(m->state, *to))
        return {Code::invalid_argument,
                fmt::format(
                    "{} is {}: cannot {} it (pending -> approved -> deprecated -> revoked; revoke from any "
                    "state before revoked)",
                    describe(id, version), model_state_name(m->state), registry_impl::verb(*to))};
      if (type == "lora.approved" && m->kind != ModelKind::lora)
        return {Code::invalid_argument,
                fmt::format("{} is of kind {}, not lora: approve it with model.approved",
                            describe(id, version), model_kind_name(m->kind))};
      if (*to == ModelState::approved && m->kind == ModelKind::lora && !m->lora)
        return {Code::invalid_argument,
                fmt::format("{} is a LoRA without a training record (lora.trained: who "
                            "trained it, on which dataset): record it before approval",
                            describe(id, version))};
      if (apply) {
        m->state = *to;
        m->transitions.push_back({*to, actor, reason, at});
      }
      return {};
    }

    if (type == "lora.trained") {
      const std::string id = f.required("lora_id");
      const std::string version = f.required("version");
      LoraProvenance p;
      p.dataset_id = f.required("dataset_id");
      p.trained_by = f.required("trained_by");
      const std::string sha = f.optional("sha256");
      if (!f.error) return f.error;
      if (const auto it = e.find("parameters"); it != e.end()) {
        if (!it->is_object() && !it->is_null())
          return {Code::invalid_argument, "parameters: must be an object"};
        p.parameters = *it;
      }
      ModelVersion* m = lookup(id, version);
      if (m == nullptr)
        return {Code::not_found, describe(id, version) +
                                     " is not registered: register the LoRA "
                                     "file first"};
      if (m->kind != ModelKind::lora)
        return {Code::invalid_argument,
                fmt::format("{} is of kind {}, not lora", describe(id, version), model_kind_name(m->kind))};
      if (m->lora) return {Code::invalid_argument, describe(id, version) + " has a training record already"};
      if (m->state != ModelState::pending)
        return {Code::invalid_argument, fmt::format("{} is {}: training is recorded before approval",
                                                    describe(id, version), model_state_name(m->state))};
      if (!sha.empty() && sha != m->sha256)
        return {Code::invalid_argument,
                fmt::format("sha256: {} is not the registered file's {}", sha, m->sha256)};
      p.recorded_at = at;
      if (apply) m->lora = std::move(p);
      return {};
    }
    return {};  // model.violation, lora.used and the like record use, not state
  }

  /// Checks, logs and applies one change (the caller holds mu, so the log's order is the order of changes).
  Status write(const nlohmann::json& e) {
    if (Status s = step(e, {}, false); !s) return s;
    if (Status s = logger->log(e); !s) return s;
    return step(e, {}, true);
  }

  Status transition(const char* type, const std::string& id, const std::string& version,
                    const std::string& actor, const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu);
    const ModelVersion* m = lookup(id, version);
    const bool lora_approval =
        m != nullptr && m->kind == ModelKind::lora && std::string_view(type) == "model.approved";
    nlohmann::json e = {{"event_type", lora_approval ? "lora.approved" : type},
                        {lora_approval ? "lora_id" : "model_id", id},
                        {"version", version},
                        {lora_approval ? "approved_by" : "actor", actor},
                        {"timestamp", now()}};
    if (!reason.empty()) e["reason"] = reason;
    return write(e);
  }
};

FA_INLINE ModelVersionRegistry::ModelVersionRegistry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FA_INLINE ModelVersionRegistry::ModelVersionRegistry(ModelVersionRegistry&&) noexcept = default;
FA_INLINE ModelVersionRegistry& ModelVersionRegistry::operator=(ModelVersionRegistry&&) noexcept = default;
FA_INLINE ModelVersionRegistry::~ModelVersionRegistry() = default;

FA_INLINE Result<ModelVersionRegistry> ModelVersionRegistry::open(AuditLogger& logger,
                                                                  const std::string& log_dir,
                                                                  RegistryOptions options) {
  const std::string dir = log_dir.empty() ? logger.dir() : log_dir;
  if (!log_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::equivalent(log_dir, logger.dir(), ec))
      return Status(
          Code::invalid_argument,
          fmt::format(
              "{} is not the logger's directory {}: the registry is rebuilt from the log it writes to",
              log_dir, logger.dir()));
  }
  // Everything logged so far is written, so the head record and all before it are complete on disk.
  if (Status s = logger.flush(); !s) return s;
  const Anchor head = logger.head();
  Result<std::vector<detail::SegmentInfo>> segs = detail::list_segments(dir);
  if (!segs) return segs.status();

  VerifyOptions vopt = std::move(options.verify);
  if (!vopt.anchor) vopt.anchor = head;
  ChainVerifier verifier(std::move(vopt));
  std::vector<registry_impl::Collected> collected;
  for (std::size_t i = 0; i < segs->size(); ++i) {
    // Records after the head may be appended meanwhile; only the newest segment can end in one half-written.
    if (Status s = registry_impl::read_segment(verifier, (*segs)[i], i + 1 == segs->size(), collected); !s)
      return s;
  }
  const VerifySummary sum = verifier.finish();
  if (!sum.intact) {
    std::string first = "no detail";
    if (!sum.findings.empty()) {
      const Finding& f = sum.findings.front();
      first = fmt::format("{} at seq {} ({} offset {}): {}", reason_name(f.reason),
                          f.seq ? std::to_string(*f.seq) : std::string("?"), f.segment, f.offset, f.detail);
    }
    return Status(
        Code::corruption,
        fmt::format("the audit log in {} does not verify ({} finding(s); first: {}); the model registry is "
                    "not rebuilt from a log that does not verify",
                    dir, sum.findings_total, first));
  }

  auto impl = std::make_unique<Impl>();
  impl->logger = &logger;
  impl->clock = std::move(options.clock_micros);
  for (const registry_impl::Collected& c : collected) {
    ++impl->replayed;
    if (Status s = impl->step(c.event, c.ts, true); !s)
      impl->notes.push_back({c.seq, c.event.at("event_type").get<std::string>(), s.to_string()});
  }
  return ModelVersionRegistry(std::move(impl));
}

FA_INLINE Result<ModelVersion> ModelVersionRegistry::register_model(const ModelRegistration& r) {
  if (r.model_id.empty() || r.version.empty() || r.registered_by.empty())
    return Status(Code::invalid_argument, "model_id, version and registered_by are required");
  std::optional<std::string> given;
  if (!r.sha256.empty()) {
    given = registry_impl::normalize_sha256(r.sha256);
    if (!given)
      return Status(Code::invalid_argument, "sha256: must be 64 hex characters, optionally after sha256:");
  }
  if (r.path.empty() && !given)
    return Status(Code::invalid_argument, "give the model file's path or its sha256");
  {
    std::lock_guard<std::mutex> lock(impl_->mu);  // fail fast, before hashing gigabytes
    if (impl_->lookup(r.model_id, r.version) != nullptr)
      return Status(Code::invalid_argument,
                    registry_impl::describe(r.model_id, r.version) + " is registered already");
  }
  nlohmann::json e = {{"event_type", "model.registered"},
                      {"model_id", r.model_id},
                      {"version", r.version},
                      {"kind", model_kind_name(r.kind)},
                      {"registered_by", r.registered_by}};
  if (!r.path.empty()) {
    Result<FileDigest> d = hash_model_file(r.path);
    if (!d) return d.status();
    if (given && *given != d->sha256)
      return Status(
          Code::invalid_argument,
          fmt::format("{} has {}, not the given {}: refusing to register it", r.path, d->sha256, *given));
    e["sha256"] = d->sha256;
    e["size_bytes"] = d->size_bytes;
    e["path"] = r.path;
  } else {
    e["sha256"] = *given;
  }
  if (!r.source.empty()) e["source"] = r.source;
  std::lock_guard<std::mutex> lock(impl_->mu);
  e["timestamp"] = impl_->now();
  if (Status s = impl_->write(e); !s) return s;
  return *impl_->lookup(r.model_id, r.version);
}

FA_INLINE Status ModelVersionRegistry::approve(const std::string& model_id, const std::string& version,
                                               const std::string& actor, const std::string& reason) {
  return impl_->transition("model.approved", model_id, version, actor, reason);
}

FA_INLINE Status ModelVersionRegistry::deprecate(const std::string& model_id, const std::string& version,
                                                 const std::string& actor, const std::string& reason) {
  return impl_->transition("model.deprecated", model_id, version, actor, reason);
}

FA_INLINE Status ModelVersionRegistry::revoke(const std::string& model_id, const std::string& version,
                                              const std::string& actor, const std::string& reason) {
  return impl_->transition("model.revoked", model_id, version, actor, reason);
}

FA_INLINE Status ModelVersionRegistry::record_lora_training(const LoraTraining& t) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  nlohmann::json e = {{"event_type", "lora.trained"}, {"lora_id", t.lora_id},
                      {"version", t.version},         {"dataset_id", t.dataset_id},
                      {"trained_by", t.trained_by},   {"timestamp", impl_->now()}};
  if (!t.parameters.is_null()) e["parameters"] = t.parameters;
  // The record names the file it is about.
  if (const ModelVersion* m = impl_->lookup(t.lora_id, t.version)) e["sha256"] = m->sha256;
  return impl_->write(e);
}

FA_INLINE Result<FileCheck> ModelVersionRegistry::verify_file(const std::string& model_id,
                                                              const std::string& version,
                                                              const std::string& path) const {
  FileCheck c;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    const ModelVersion* m = impl_->lookup(model_id, version);
    if (m == nullptr)
      return Status(Code::not_found, registry_impl::describe(model_id, version) + " is not registered");
    c.path = path.empty() ? m->path : path;
    c.expected_sha256 = m->sha256;
    c.expected_size = m->size_bytes;
  }
  if (c.path.empty())
    return Status(Code::invalid_argument,
                  fmt::format("{} was registered by hash only: give the file to check",
                              registry_impl::describe(model_id, version)));
  struct stat st {};
  if (::stat(c.path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return c;  // missing
    return detail::errno_status(fmt::format("stat {}", c.path), errno);
  }
  c.actual_size = static_cast<std::uint64_t>(st.st_size);
  if (S_ISREG(st.st_mode) && c.expected_size && *c.expected_size != c.actual_size) {
    c.outcome = FileCheck::Outcome::modified;
    return c;
  }
  Result<FileDigest> d = hash_model_file(c.path);
  if (!d) {
    if (d.status().code() == Code::not_found) return c;  // removed while we looked
    return d.status();
  }
  c.actual_size = d->size_bytes;
  c.actual_sha256 = d->sha256;
  c.outcome = d->sha256 == c.expected_sha256 && (!c.expected_size || *c.expected_size == d->size_bytes)
                  ? FileCheck::Outcome::unchanged
                  : FileCheck::Outcome::modified;
  return c;
}

FA_INLINE Result<GenerationDecision> ModelVersionRegistry::check_generation(const GenerationModels& g,
                                                                            ViolationPolicy policy) {
  if (g.request_id.empty()) return Status(Code::invalid_argument, "request_id is required");
  struct Item {
    const char* role;
    const ModelUse* use;
    std::optional<FileDigest> digest;
  };
  std::vector<Item> items;
  if (g.base) items.push_back({"base", &*g.base, std::nullopt});
  if (g.refiner) items.push_back({"refiner", &*g.refiner, std::nullopt});
  for (const ModelUse& l : g.loras) items.push_back({"lora", &l, std::nullopt});
  for (Item& it : items) {
    if (it.use->model_id.empty())
      return Status(Code::invalid_argument, fmt::format("{}: empty model id", it.role));
    if (!std::isfinite(it.use->weight))
      return Status(Code::invalid_argument,
                    fmt::format("{} {}: weight is not finite", it.role, it.use->model_id));
    if (it.use->path.empty()) continue;
    Result<FileDigest> d = hash_model_file(it.use->path);
    if (!d) return d.status();
    it.digest = std::move(d.value());
  }

  GenerationDecision out;
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<std::optional<std::string>> observed;  // per violation: the file's hash, when it is the problem
  for (const Item& it : items) {
    const ModelUse& u = *it.use;
    auto violate = [&](const std::string& version, ModelProblem p, std::string detail,
                       std::optional<std::string> sha = std::nullopt) {
      out.violations.push_back({it.role, u.model_id, version, p, std::move(detail)});
      observed.push_back(std::move(sha));
    };
    std::vector<const ModelVersion*> versions;  // of this id, registration order
    for (const ModelVersion& m : impl_->entries)
      if (m.model_id == u.model_id) versions.push_back(&m);
    const ModelVersion* m = nullptr;
    if (!u.version.empty()) {
      m = impl_->lookup(u.model_id, u.version);
    } else if (it.digest) {
      for (const ModelVersion* v : versions)
        if (v->sha256 == it.digest->sha256 &&
            (m == nullptr || v->state == ModelState::approved || m->state != ModelState::approved))
          m = v;
    } else {
      for (const ModelVersion* v : versions)
        if (v->state == ModelState::approved) m = v;
      if (m == nullptr && !versions.empty()) m = versions.back();
    }
    if (m == nullptr) {
      if (!u.version.empty() || versions.empty()) {
        violate(u.version, ModelProblem::unregistered,
                versions.empty() ? fmt::format("{} is not registered", u.model_id)
                                 : registry_impl::describe(u.model_id, u.version) + " is not registered");
      } else {
        violate({}, ModelProblem::modified,
                fmt::format("{} ({}) is none of the {} registered version(s) of {}", u.path,
                            it.digest->sha256, versions.size(), u.model_id),
                it.digest->sha256);
      }
      out.resolved.push_back({it.role, u.model_id, u.version});
      continue;
    }
    out.resolved.push_back({it.role, u.model_id, m->version});
    const std::string what = registry_impl::describe(m->model_id, m->version);
    if (m->state == ModelState::pending)
      violate(m->version, ModelProblem::unapproved, what + " is not approved");
    if (m->state == ModelState::deprecated)
      violate(m->version, ModelProblem::deprecated, what + " is deprecated");
    if (m->state == ModelState::revoked) violate(m->version, ModelProblem::revoked, what + " is revoked");
    if (it.digest && it.digest->sha256 != m->sha256)
      violate(m->version, ModelProblem::modified,
              fmt::format("{} has {}, {} was registered with {}", u.path, it.digest->sha256, what, m->sha256),
              it.digest->sha256);
  }
  out.allowed = out.violations.empty() || policy == ViolationPolicy::flag;

  const std::string ts = impl_->now();
  for (std::size_t i = 0; i < out.violations.size(); ++i) {
    const ModelViolation& v = out.violations[i];
    nlohmann::json e = {{"event_type", "model.violation"},
                        {"request_id", g.request_id},
                        {"model_id", v.model_id},
                        {"problem", model_problem_name(v.problem)},
                        {"action", policy == ViolationPolicy::block ? "blocked" : "flagged"},
                        {"role", v.role},
                        {"timestamp", ts}};
    if (!v.version.empty()) e["version"] = v.version;
    if (observed[i]) e["observed_sha256"] = *observed[i];
    if (!g.user_id.empty()) e["user_id"] = g.user_id;
    if (Status s = impl_->logger->log(e); !s) return s;
  }
  if (out.allowed) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (std::string_view(items[i].role) != "lora") continue;
      nlohmann::json e = {{"event_type", "lora.used"},
                          {"lora_id", items[i].use->model_id},
                          {"weight", items[i].use->weight},
                          {"request_id", g.request_id},
                          {"timestamp", ts}};
      if (!out.resolved[i].version.empty()) e["version"] = out.resolved[i].version;
      if (!g.user_id.empty()) e["user_id"] = g.user_id;
      if (Status s = impl_->logger->log(e); !s) return s;
    }
  }
  return out;
}

FA_INLINE std::optional<ModelVersion> ModelVersionRegistry::find(const std::string& model_id,
                                                                 const std::string& version) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const ModelVersion* m = impl_->lookup(model_id, version);
  if (m == nullptr) return std::nullopt;
  return *m;
}

FA_INLINE std::vector<ModelVersion> ModelVersionRegistry::list() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->entries;
}

FA_INLINE std::vector<ReplayNote> ModelVersionRegistry::replay_notes() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->notes;
}

FA_INLINE std::uint64_t ModelVersionRegistry::records_replayed() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->replayed;
}

}  // namespace fooocus_audit
