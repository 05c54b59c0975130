// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/mac_key.hpp"
#endif

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/record.hpp"

namespace fooocus_audit {
namespace mac {
namespace mac_impl {

inline constexpr std::string_view kInitLabel = "fooocus-audit/v1/mac/init";
inline constexpr std::string_view kEvolveLabel = "fooocus-audit/v1/mac/evolve";
inline constexpr std::string_view kRecordLabel = "fooocus-audit/v1/mac/record";
inline constexpr std::size_t kSeedTextBytes = kSeedMagic.size() + 1 + 64;  // without the LF
// Key files are tiny; anything larger is not one (and is never read whole).
inline constexpr std::size_t kMaxKeyFileBytes = 4096;
inline constexpr std::size_t kLogIdBytes = 16;

using LogIdBytes = std::array<std::uint8_t, kLogIdBytes>;

// HMAC(key, label) into out, wiping the intermediate copy.
inline void hmac_into(const Key& key, std::string_view label, Key* out) {
  Hash h = detail::hmac_sha256(key.data(), key.size(), label);
  *out = h;
  detail::secure_wipe(h.data(), h.size());
}

inline bool parse_log_id(std::string_view hex, LogIdBytes* out) noexcept {
  if (!record::valid_log_id(hex)) return false;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i < kLogIdBytes; ++i)
    (*out)[i] = static_cast<std::uint8_t>((nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1]));
  return true;
}

inline Status bad_log_id() { return {Code::invalid_argument, "log id is not 32 lowercase hex characters"}; }

// A buffer that held key bytes; wiped however the scope ends.
template <std::size_t N>
struct Wiped {
  std::array<std::uint8_t, N> b{};
  std::size_t n = 0;
  Wiped() = default;
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { detail::secure_wipe(b.data(), b.size()); }
  std::string_view text() const { return {reinterpret_cast<const char*>(b.data()), n}; }
};
using FileBytes = Wiped<kMaxKeyFileBytes + 1>;

// An open key file: regular, and without group/other permission bits.
struct KeyFd {
  int fd = -1;
  KeyFd() = default;
  KeyFd(const KeyFd&) = delete;
  KeyFd& operator=(const KeyFd&) = delete;
  ~KeyFd() {
    if (fd >= 0) ::close(fd);
  }
  int release() noexcept {
    const int f = fd;
    fd = -1;
    return f;
  }
};

inline Status open_key_file(const std::string& path, int flags, KeyFd* out) {
  out->fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (out->fd < 0) return detail::errno_status(fmt::format("open MAC key file {}", path), errno);
  struct stat st {};
  if (::fstat(out->fd, &st) != 0)
    return detail::errno_status(fmt::format("stat MAC key file {}", path), errno);
  if (!S_ISREG(st.st_mode))
    return {Code::invalid_argument, fmt::format("MAC key file {} is not a regular file", path)};
  if ((st.st_mode & 077) != 0)
    return {Code::invalid_argument,
            fmt::format("MAC key file {} is accessible to group or others (mode {:04o}): run chmod 600 {}",
                        path, static_cast<unsigned>(st.st_mode & 07777), path)};
  return {};
}

// Reads the whole (small) file from offset 0.
inline Status read_key_file(int fd, const std::string& path, FileBytes* out) {
  out->n = 0;
  while (out->n < out->b.size()) {
    const ssize_t r = ::pread(fd, out->b.data() + out->n, out->b.size() - out->n, static_cast<off_t>(out->n));
    if (r < 0) {
      if (errno == EINTR) continue;
      return detail::errno_status(fmt::format("read MAC key file {}", path), errno);
    }
    if (r == 0) break;
    out->n += static_cast<std::size_t>(r);
  }
  return {};
}

inline Status pwrite_all(int fd, const std::uint8_t* p, std::size_t n, off_t at, std::string_view what) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      return detail::errno_status(what, errno);
    }
    p += w;
    at += w;
    n -= static_cast<std::size_t>(w);
  }
  return {};
}

inline Status datasync(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0)
    return detail::errno_status(fmt::format("fdatasync MAC key file {}", path), errno);
  return {};
}

// Seed text starts with the magic and a space; a state file is at most two slots; anything else is neither.
inline Result<KeyFileKind> classify(const FileBytes& f, const std::string& path) {
  const std::string_view t = f.text();
  if (t.size() > kSeedMagic.size() && t.substr(0, kSeedMagic.size()) == kSeedMagic &&
      t[kSeedMagic.size()] == ' ')
    return KeyFileKind::seed;
  if (t.size() <= kStateFileBytes) return KeyFileKind::state;
  return Status(Code::corruption, fmt::format("{} is not a MAC key file (neither a seed nor a {}-byte state)",
                                              path, kStateFileBytes));
}

// Reads the whole key file behind fd and says what kind it is.
inline Result<KeyFileKind> read_classified(int fd, const std::string& path, FileBytes* bytes) {
  if (Status st = read_key_file(fd, path, bytes); !st) return st;
  return classify(*bytes, path);
}

// Opens a key file read-only (same refusals as open_key_file), reads it whole and says what kind it is.
inline Result<KeyFileKind> load_classified(const std::string& path, FileBytes* bytes) {
  KeyFd f;
  if (Status st = open_key_file(path, O_RDONLY, &f); !st) return st;
  return read_classified(f.fd, path, bytes);
}

// The seed in a key file classified as one; a malformed seed is reported with the file's name.
inline Result<Seed> parse_seed_file(const FileBytes& bytes, const std::string& path) {
  Result<Seed> seed = Seed::parse(bytes.text());
  if (!seed) return Status(Code::invalid_argument, fmt::format("{}: {}", path, seed.status().message()));
  return seed;
}

inline void encode_slot(std::uint8_t* out, std::uint64_t epoch, const LogIdBytes& log_id, const Key& key) {
  std::memcpy(out, kStateMagic.data(), 8);
  for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<std::uint8_t>(epoch >> (56 - 8 * i));
  std::memcpy(out + 16, log_id.data(), kLogIdBytes);
  std::memcpy(out + 32, key.data(), key.size());
  std::memset(out + 64, 0, 32);
  const Hash sum = detail::sha256(out, 96);
  std::memcpy(out + 96, sum.data(), sum.size());
}

// The current state of a state file; wiped on destruction.
struct ParsedState {
  int slot = -1;
  std::uint64_t epoch = 0;
  LogIdBytes log_id{};
  Key key{};
  ParsedState() = default;
  ParsedState(const ParsedState&) = delete;
  ParsedState& operator=(const ParsedState&) = delete;
  ~ParsedState() { detail::secure_wipe(key.data(), key.size()); }
};

// A slot is valid when its magic and checksum match; the state is the valid slot with the highest epoch.
// Bytes missing from a short file make their slot invalid.
inline Status parse_state(const FileBytes& f, const std::string& path, ParsedState* out) {
  for (int s = 0; s < 2; ++s) {
    const std::size_t at = static_cast<std::size_t>(s) * kSlotBytes;
    if (f.n < at + kSlotBytes) break;
    const std::uint8_t* p = f.b.data() + at;
    if (std::memcmp(p, kStateMagic.data(), 8) != 0) continue;
    const Hash sum = detail::sha256(p, 96);
    if (!detail::constant_time_equal(sum.data(), p + 96, sum.size())) continue;
    std::uint64_t epoch = 0;
    for (int i = 0; i < 8; ++i) epoch = (epoch << 8) | p[8 + i];
    if (out->slot >= 0) {
      // Two valid slots: only a crash between the two steps of advance() leaves them, one epoch apart.
      if (epoch == out->epoch)
        return {Code::corruption, fmt::format("MAC key file {}: both slots claim epoch {}", path, epoch)};
      if (epoch < out->epoch) continue;
    }
    out->slot = s;
    out->epoch = epoch;
    std::memcpy(out->log_id.data(), p + 16, kLogIdBytes);
    std::memcpy(out->key.data(), p + 32, out->key.size());
  }
  if (out->slot < 0)
    return {Code::corruption,
            fmt::format("MAC key file {} has no valid state slot (damaged, or not a fooocus-audit key file)",
                        path)};
  return {};
}

inline Status other_log(const std::string& path, const LogIdBytes& bound) {
  return {Code::invalid_argument, fmt::format("MAC key file belongs to log {} ({})",
                                              detail::to_hex(bound.data(), bound.size()), path)};
}

inline Status internal(const std::exception& e) { return {Code::internal, e.what()}; }

}  // namespace mac_impl

// ---------------------------------------------------------------------------------------------------------------
// Seed

FA_INLINE Seed::~Seed() { detail::secure_wipe(bytes_.data(), bytes_.size()); }

FA_INLINE Seed::Seed(Seed&& other) noexcept : bytes_(other.bytes_) {
  detail::secure_wipe(other.bytes_.data(), other.bytes_.size());
}

FA_INLINE Seed& Seed::operator=(Seed&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    detail::secure_wipe(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

FA_INLINE Result<Seed> Seed::generate() {
  Seed s;
  try {
    detail::random_bytes(s.bytes_.data(), s.bytes_.size());
  } catch (const std::exception& e) {
    return mac_impl::internal(e);
  }
  return s;
}

FA_INLINE Seed Seed::from_bytes(const Key& bytes) noexcept {
  Seed s;
  s.bytes_ = bytes;
  return s;
}

FA_INLINE Result<Seed> Seed::parse(std::string_view text) {
  using mac_impl::kSeedTextBytes;
  if (text.size() == kSeedTextBytes + 1 && text.back() == '\n') text.remove_suffix(1);
  Seed s;
  if (text.size() != kSeedTextBytes || text.substr(0, kSeedMagic.size()) != kSeedMagic ||
      text[kSeedMagic.size()] != ' ' ||
      !detail::parse_hash_hex(text.substr(kSeedMagic.size() + 1), &s.bytes_))
    return Status(
        Code::invalid_argument,
        fmt::format("not a MAC seed: expected \"{} <64 lowercase hex>\" and a newline", kSeedMagic));
  return s;
}

FA_INLINE Result<Seed> Seed::load(const std::string& path) {
  mac_impl::FileBytes bytes;
  Result<KeyFileKind> kind = mac_impl::load_classified(path, &bytes);
  if (!kind) return kind.status();
  if (*kind == KeyFileKind::state)
    return Status(Code::invalid_argument,
                  fmt::format("{} is a MAC writer state file (bound to a log), not a seed", path));
  return mac_impl::parse_seed_file(bytes, path);
}

FA_INLINE std::string Seed::text() const {
  std::string s;
  s.reserve(mac_impl::kSeedTextBytes + 1);  // no reallocation: no stray copies of the hex
  s.append(kSeedMagic).push_back(' ');
  detail::append_hex(s, bytes_.data(), bytes_.size());
  s.push_back('\n');
  return s;
}

FA_INLINE Status Seed::save(const std::string& path) const {
  std::string t = text();
  Status st = detail::create_file_exclusive(path, t, 0600, "MAC seed file");
  detail::secure_wipe(t.data(), t.size());
  return st;
}

// ---------------------------------------------------------------------------------------------------------------
// EpochKey

FA_INLINE EpochKey::~EpochKey() { detail::secure_wipe(key_.data(), key_.size()); }

FA_INLINE EpochKey::EpochKey(EpochKey&& other) noexcept : epoch_(other.epoch_), key_(other.key_) {
  detail::secure_wipe(other.key_.data(), other.key_.size());
}

FA_INLINE EpochKey& EpochKey::operator=(EpochKey&& other) noexcept {
  if (this != &other) {
    epoch_ = other.epoch_;
    key_ = other.key_;
    detail::secure_wipe(other.key_.data(), other.key_.size());
  }
  return *this;
}

FA_INLINE EpochKey EpochKey::initial(const Seed& seed, std::string_view log_id) {
  std::string msg;
  msg.reserve(mac_impl::kInitLabel.size() + 1 + log_id.size());
  msg.append(mac_impl::kInitLabel).push_back('\0');
  msg.append(log_id);
  EpochKey k;
  mac_impl::hmac_into(seed.bytes(), msg, &k.key_);
  return k;
}

FA_INLINE EpochKey EpochKey::from_bytes(std::uint64_t epoch, const Key& bytes) noexcept {
  EpochKey k;
  k.epoch_ = epoch;
  k.key_ = bytes;
  return k;
}

FA_INLINE EpochKey EpochKey::next() const {
  EpochKey k;
  k.epoch_ = epoch_ + 1;
  mac_impl::hmac_into(key_, mac_impl::kEvolveLabel, &k.key_);
  return k;
}

FA_INLINE Result<EpochKey> EpochKey::forward_to(std::uint64_t epoch) const {
  if (epoch < epoch_)
    return Status(Code::invalid_argument,
                  fmt::format("the key of MAC epoch {} cannot derive earlier epoch {}", epoch_, epoch));
  EpochKey k = from_bytes(epoch_, key_);
  try {
    for (; k.epoch_ < epoch; ++k.epoch_) mac_impl::hmac_into(k.key_, mac_impl::kEvolveLabel, &k.key_);
  } catch (const std::exception& e) {
    return mac_impl::internal(e);
  }
  return k;
}

FA_INLINE Key EpochKey::record_key() const {
  Key m{};
  mac_impl::hmac_into(key_, mac_impl::kRecordLabel, &m);
  return m;
}

FA_INLINE Result<EpochKey> EpochKey::load(const std::string& path, std::string_view log_id) {
  mac_impl::LogIdBytes want{};
  if (!mac_impl::parse_log_id(log_id, &want)) return mac_impl::bad_log_id();
  mac_impl::FileBytes bytes;
  Result<KeyFileKind> kind = mac_impl::load_classified(path, &bytes);
  if (!kind) return kind.status();
  try {
    if (*kind == KeyFileKind::seed) {
      Result<Seed> seed = mac_impl::parse_seed_file(bytes, path);
      if (!seed) return seed.status();
      return initial(*seed, log_id);
    }
  } catch (const std::exception& e) {
    return mac_impl::internal(e);
  }
  mac_impl::ParsedState state;
  if (Status st = mac_impl::parse_state(bytes, path, &state); !st) return st;
  if (state.log_id != want) return mac_impl::other_log(path, state.log_id);
  return from_bytes(state.epoch, state.key);
}

FA_INLINE EpochKey key_for_epoch(const Seed& seed, std::string_view log_id, std::uint64_t epoch) {
  const EpochKey k0 = EpochKey::initial(seed, log_id);
  Result<EpochKey> k = k0.forward_to(epoch);
  if (!k) throw std::runtime_error(k.status().to_string());  // only an OpenSSL failure gets here
  return std::move(k).value();
}

// ---------------------------------------------------------------------------------------------------------------
// RecordMac

FA_INLINE RecordMac::RecordMac(const EpochKey& key) : epoch_(key.epoch()) {
  Key m = key.record_key();
  try {
    hmac_ = detail::HmacSha256(m.data(), m.size());
  } catch (...) {
    detail::secure_wipe(m.data(), m.size());
    throw;
  }
  detail::secure_wipe(m.data(), m.size());
}

FA_INLINE RecordMac RecordMac::clone() const { return RecordMac(epoch_, hmac_.clone()); }

FA_INLINE Hash RecordMac::tag(const Hash& d) { return hmac_.mac(d.data(), d.size()); }

FA_INLINE bool RecordMac::check(const Hash& d, const std::uint8_t* tag32) {
  const Hash t = tag(d);
  return detail::constant_time_equal(t.data(), tag32, t.size());
}

// ---------------------------------------------------------------------------------------------------------------
// Key files

FA_INLINE Result<KeyFileKind> detect_key_file(const std::string& path) {
  mac_impl::FileBytes bytes;
  return mac_impl::load_classified(path, &bytes);
}

FA_INLINE Result<StateInfo> WriterState::inspect(const std::string& path) {
  mac_impl::FileBytes bytes;
  Result<KeyFileKind> kind = mac_impl::load_classified(path, &bytes);
  if (!kind) return kind.status();
  StateInfo info;
  info.kind = *kind;
  if (*kind == KeyFileKind::seed) {
    if (Result<Seed> seed = mac_impl::parse_seed_file(bytes, path); !seed) return seed.status();
    return info;
  }
  mac_impl::ParsedState state;
  if (Status st = mac_impl::parse_state(bytes, path, &state); !st) return st;
  info.epoch = state.epoch;
  info.log_id = detail::to_hex(state.log_id.data(), state.log_id.size());
  return info;
}

FA_INLINE WriterState::~WriterState() { close(); }

FA_INLINE void WriterState::close() noexcept {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
  fd_ = -1;
}

FA_INLINE WriterState::WriterState(WriterState&& other) noexcept
    : fd_(other.fd_),
      slot_(other.slot_),
      path_(std::move(other.path_)),
      log_id_(std::move(other.log_id_)),
      key_(std::move(other.key_)),
      mac_(std::move(other.mac_)) {
  other.fd_ = -1;
}

FA_INLINE WriterState& WriterState::operator=(WriterState&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    slot_ = other.slot_;
    path_ = std::move(other.path_);
    log_id_ = std::move(other.log_id_);
    key_ = std::move(other.key_);
    mac_ = std::move(other.mac_);
    other.fd_ = -1;
  }
  return *this;
}

FA_INLINE Result<WriterState> WriterState::open(const std::string& path, std::string_view log_id) {
  using namespace mac_impl;  // NOLINT(google-build-using-namespace)
  LogIdBytes want{};
  if (!parse_log_id(log_id, &want)) return bad_log_id();
  KeyFd f;
  if (Status st = open_key_file(path, O_RDWR, &f); !st) return st;
  if (::flock(f.fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return Status(Code::locked, fmt::format("MAC key file {} is in use by another writer", path));
    return detail::errno_status(fmt::format("lock MAC key file {}", path), errno);
  }
  FileBytes bytes;
  Result<KeyFileKind> kind = read_classified(f.fd, path, &bytes);
  if (!kind) return kind.status();

  try {
    int slot = 0;
    Result<EpochKey> key = Status(Code::internal, "unset");
    if (*kind == KeyFileKind::seed) {
      Result<Seed> seed = parse_seed_file(bytes, path);
      if (!seed) return seed.status();
      key = EpochKey::initial(*seed, log_id);
      // Convert in place: the state overwrites the seed text, which is shorter than one slot.
      Wiped<kStateFileBytes> file;
      encode_slot(file.b.data(), 0, want, key->bytes());
      if (Status st = pwrite_all(f.fd, file.b.data(), file.b.size(), 0,
                                 fmt::format("convert MAC seed file {}", path));
          !st)
        return st;
      if (::ftruncate(f.fd, static_cast<off_t>(kStateFileBytes)) != 0)
        return detail::errno_status(fmt::format("truncate MAC key file {}", path), errno);
      if (Status st = datasync(f.fd, path); !st) return st;
    } else {
      ParsedState state;
      if (Status st = parse_state(bytes, path, &state); !st) return st;
      if (state.log_id != want) return other_log(path, state.log_id);
      slot = state.slot;
      key = EpochKey::from_bytes(state.epoch, state.key);
      // A crash between the two steps of advance() leaves the older key in the other slot: erase it now.
      const std::size_t other = static_cast<std::size_t>(1 - slot) * kSlotBytes;
      bool stale = bytes.n != kStateFileBytes;
      for (std::size_t i = 0; i < kSlotBytes && !stale; ++i) stale = bytes.b[other + i] != 0;
      if (stale) {
        const std::array<std::uint8_t, kSlotBytes> zeros{};
        if (Status st = pwrite_all(f.fd, zeros.data(), zeros.size(), static_cast<off_t>(other),
                                   fmt::format("erase old slot of MAC key file {}", path));
            !st)
          return st;
        if (Status st = datasync(f.fd, path); !st) return st;
      }
    }
    RecordMac mac(*key);
    WriterState ws(std::move(key).value(), std::move(mac));
    ws.fd_ = f.release();
    ws.slot_ = slot;
    ws.path_ = path;
    ws.log_id_ = std::string(log_id);
    return ws;
  } catch (const std::exception& e) {
    return internal(e);
  }
}

FA_INLINE Status WriterState::advance() {
  using namespace mac_impl;  // NOLINT(google-build-using-namespace)
  if (fd_ < 0) return {Code::closed, "MAC writer state is not open"};
  if (key_.epoch() == UINT64_MAX) return {Code::invalid_argument, "MAC epoch counter exhausted"};
  const int other = 1 - slot_;
  try {
    EpochKey next = key_.next();
    RecordMac next_mac(next);
    {
      Wiped<kSlotBytes> slot;
      LogIdBytes id{};
      parse_log_id(log_id_, &id);
      encode_slot(slot.b.data(), next.epoch(), id, next.bytes());
      if (Status st = pwrite_all(fd_, slot.b.data(), slot.b.size(), static_cast<off_t>(other * kSlotBytes),
                                 fmt::format("write MAC key file {}", path_));
          !st)
        return st;
    }
    if (Status st = datasync(fd_, path_); !st) return st;
    // K_{e+1} is durable: from here on the current state is e + 1, whatever happens to the old slot.
    const std::array<std::uint8_t, kSlotBytes> zeros{};
    Status erased = pwrite_all(fd_, zeros.data(), zeros.size(), static_cast<off_t>(slot_ * kSlotBytes),
                               fmt::format("erase old slot of MAC key file {}", path_));
    if (erased) erased = datasync(fd_, path_);
    key_ = std::move(next);
    mac_ = std::move(next_mac);
    slot_ = other;
    return erased;
  } catch (const std::exception& e) {
    return internal(e);
  }
}

}  // namespace mac
}  // namespace fooocus_audit
