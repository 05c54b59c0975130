// SPDX-License-Identifier: Apache-2.0
#pragma once

#ifndef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/image_info.hpp"
#endif

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"

namespace fooocus_audit {

namespace image_info_impl {

// Limits that keep hostile headers cheap; real files are far below them.
constexpr int kMaxJpegSegments = 4096;    // segments before the frame header (real files: ~20)
constexpr int kMaxJpegFillBytes = 4096;   // 0xFF fill bytes before one marker (real files: 0)
constexpr std::size_t kWindow = 4096;     // read-ahead window of a file source

// A bounded random-access view of a whole file: in memory, or an fd read through a small window.
class Source {
 public:
  virtual ~Source() = default;
  std::uint64_t size() const noexcept { return size_; }
  /// Copies the n bytes at off to out. False when they are not all inside the file (io_ is set when the
  /// reason is an I/O error rather than the end of the file).
  virtual bool read(std::uint64_t off, std::size_t n, unsigned char* out) = 0;
  const Status& io() const noexcept { return io_; }

 protected:
  std::uint64_t size_ = 0;
  Status io_;
};

class MemorySource final : public Source {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) { size_ = bytes.size(); }
  bool read(std::uint64_t off, std::size_t n, unsigned char* out) override {
    if (off > size_ || n > size_ - off) return false;
    std::memcpy(out, bytes_.data() + off, n);
    return true;
  }

 private:
  std::string_view bytes_;
};

class FdSource final : public Source {
 public:
  FdSource(int fd, std::uint64_t size, std::string_view path) : fd_(fd), path_(path) { size_ = size; }
  bool read(std::uint64_t off, std::size_t n, unsigned char* out) override {
    if (off > size_ || n > size_ - off || n > kWindow) return false;
    if (off < win_off_ || off + n > win_off_ + win_len_) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kWindow, size_ - off));
      std::size_t got = 0;
      while (got < want) {
        const ssize_t r = ::pread(fd_, win_ + got, want - got, static_cast<off_t>(off + got));
        if (r < 0) {
          if (errno == EINTR) continue;
          io_ = detail::errno_status(fmt::format("read {}", path_), errno);
          return false;
        }
        if (r == 0) break;  // the file shrank: treated as truncation
        got += static_cast<std::size_t>(r);
      }
      win_off_ = off;
      win_len_ = got;
      if (n > got) return false;
    }
    std::memcpy(out, win_ + (off - win_off_), n);
    return true;
  }

 private:
  int fd_;
  std::string_view path_;
  unsigned char win_[kWindow];
  std::uint64_t win_off_ = 0;
  std::size_t win_len_ = 0;
};

inline std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
inline std::uint32_t be16(const unsigned char* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }
inline std::uint32_t le16(const unsigned char* p) { return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8); }
inline std::uint32_t le24(const unsigned char* p) { return le16(p) | (std::uint32_t{p[2]} << 16); }
inline std::uint32_t le32(const unsigned char* p) { return le24(p) | (std::uint32_t{p[3]} << 24); }

// CRC-32 (ISO 3309, the one PNG uses), bitwise: it runs over 17 bytes per file.
inline std::uint32_t crc32(const unsigned char* p, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

inline Status bad(const char* format, std::string_view why) {
  return {Code::invalid_argument, fmt::format("{}: {}", format, why)};
}

// Reads or explains why not: the I/O error, or truncation of `what`.
inline Status need(Source& src, std::uint64_t off, std::size_t n, unsigned char* out, const char* format,
                   const char* what) {
  if (src.read(off, n, out)) return {};
  if (!src.io().ok()) return src.io();
  return bad(format, fmt::format("truncated ({} at offset {} needs {} bytes, the file has {})", what, off, n,
                                 src.size()));
}

constexpr unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
constexpr unsigned char kPngIend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};

inline bool png_depth_ok(unsigned color, unsigned depth) {
  switch (color) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;  // grey
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;                 // palette
    case 2: case 4: case 6: return depth == 8 || depth == 16;                             // RGB, grey+A, RGBA
    default: return false;
  }
}

inline Result<ImageInfo> parse_png(Source& src) {
  // signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 CRC) + IEND chunk (12)
  if (src.size() < 8 + 25 + 12)
    return bad("png", fmt::format("truncated ({} bytes, a PNG has at least 45)", src.size()));
  unsigned char h[25];
  if (Status s = need(src, 8, sizeof h, h, "png", "IHDR"); !s) return s;
  if (be32(h) != 13 || std::memcmp(h + 4, "IHDR", 4) != 0) return bad("png", "first chunk is not a 13-byte IHDR");
  if (crc32(h + 4, 17) != be32(h + 21)) return bad("png", "IHDR CRC mismatch");
  const std::uint32_t w = be32(h + 8), ht = be32(h + 12);
  if (w == 0 || ht == 0 || w > 0x7FFFFFFFu || ht > 0x7FFFFFFFu)
    return bad("png", fmt::format("invalid dimensions {}x{}", w, ht));
  if (!png_depth_ok(h[17], h[16]))
    return bad("png", fmt::format("invalid bit depth {} for colour type {}", h[16], h[17]));
  if (h[18] != 0 || h[19] != 0 || h[20] > 1) return bad("png", "unknown compression, filter or interlace method");
  unsigned char end[12];
  if (Status s = need(src, src.size() - 12, sizeof end, end, "png", "IEND"); !s) return s;
  if (std::memcmp(end, kPngIend, sizeof end) != 0)
    return bad("png", "truncated or followed by other data (the file does not end with an IEND chunk)");
  return ImageInfo{ImageFormat::png, w, ht};
}

inline bool jpeg_is_sof(unsigned m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

inline Result<ImageInfo> parse_jpeg(Source& src) {
  const std::uint64_t size = src.size();
  std::uint64_t off = 2;  // after SOI
  for (int segments = 0;; ++segments) {
    if (segments >= kMaxJpegSegments)
      return bad("jpeg", fmt::format("no frame header within the first {} segments", kMaxJpegSegments));
    unsigned char b[2];
    if (Status s = need(src, off, 1, b, "jpeg", "marker"); !s) return s;
    if (b[0] != 0xFF) return bad("jpeg", fmt::format("expected a marker at offset {}", off));
    // A marker may be preceded by any number of 0xFF fill bytes; bounded here.
    unsigned marker = 0xFF;
    for (int fill = 0; marker == 0xFF; ++fill) {
      if (fill > kMaxJpegFillBytes) return bad("jpeg", fmt::format("too many fill bytes at offset {}", off));
      ++off;
      if (Status s = need(src, off, 1, b, "jpeg", "marker"); !s) return s;
      marker = b[0];
    }
    const std::uint64_t marker_off = off - 1;
    ++off;  // past the marker code
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // TEM, RSTn: no length
    if (marker == 0x00 || marker == 0xD8)
      return bad("jpeg", fmt::format("unexpected marker 0x{:02X} at offset {}", marker, marker_off));
    if (marker == 0xD9) return bad("jpeg", "end of image before any frame header");
    if (marker == 0xDA) return bad("jpeg", "scan before any frame header");
    if (Status s = need(src, off, 2, b, "jpeg", "segment length"); !s) return s;
    const std::uint32_t len = be16(b);  // includes the two length bytes
    if (len < 2) return bad("jpeg", fmt::format("segment length {} at offset {}", len, marker_off));
    if (len > size - off)
      return bad("jpeg", fmt::format("truncated (segment 0x{:02X} at offset {} has {} bytes, the file ends first)",
                                     marker, marker_off, len));
    if (jpeg_is_sof(marker)) {
      unsigned char f[6];  // precision, height, width, components
      if (len < 8) return bad("jpeg", fmt::format("frame header of {} bytes", len));
      if (Status s = need(src, off + 2, sizeof f, f, "jpeg", "frame header"); !s) return s;
      const std::uint32_t height = be16(f + 1), width = be16(f + 3), components = f[5];
      if (components == 0 || len != 8 + 3 * components)
        return bad("jpeg", fmt::format("frame header of {} bytes for {} components", len, components));
      if (width == 0) return bad("jpeg", "frame width 0");
      if (height == 0) return bad("jpeg", "frame height defined by a DNL marker (not supported)");
      if (size - (off + len) < 2) return bad("jpeg", "truncated (no data after the frame header)");
      unsigned char eoi[2];
      if (Status s = need(src, size - 2, 2, eoi, "jpeg", "EOI"); !s) return s;
      if (eoi[0] != 0xFF || eoi[1] != 0xD9)
        return bad("jpeg", "truncated or followed by other data (the file does not end with EOI)");
      return ImageInfo{ImageFormat::jpeg, width, height};
    }
    off += len;
  }
}

inline Result<ImageInfo> parse_webp(Source& src) {
  unsigned char h[20];  // RIFF header (12) + first chunk header (8)
  if (Status s = need(src, 0, sizeof h, h, "webp", "RIFF and chunk headers"); !s) return s;
  const std::uint64_t riff_size = le32(h + 4);  // bytes after the first 8
  if (riff_size < 12) return bad("webp", fmt::format("RIFF size {} too small", riff_size));
  if (riff_size > src.size() - 8)
    return bad("webp", fmt::format("truncated (RIFF size {} but {} bytes follow the header)", riff_size,
                                   src.size() - 8));
  const std::uint64_t chunk_size = le32(h + 16);
  if (chunk_size > riff_size - 12)
    return bad("webp", fmt::format("first chunk of {} bytes exceeds the RIFF size {}", chunk_size, riff_size));
  const std::string_view fourcc(reinterpret_cast<const char*>(h + 12), 4);
  unsigned char c[10];
  if (fourcc == "VP8X") {
    if (chunk_size < 10) return bad("webp", "VP8X chunk shorter than 10 bytes");
    if (Status s = need(src, 20, 10, c, "webp", "VP8X chunk"); !s) return s;
    const std::uint64_t w = std::uint64_t{le24(c + 4)} + 1, ht = std::uint64_t{le24(c + 7)} + 1;
    if (w * ht > 0xFFFFFFFFull) return bad("webp", fmt::format("canvas {}x{} exceeds 2^32-1 pixels", w, ht));
    return ImageInfo{ImageFormat::webp, static_cast<std::uint32_t>(w), static_cast<std::uint32_t>(ht)};
  }
  if (fourcc == "VP8 ") {
    if (chunk_size < 10) return bad("webp", "VP8 chunk shorter than 10 bytes");
    if (Status s = need(src, 20, 10, c, "webp", "VP8 frame header"); !s) return s;
    const std::uint32_t tag = le24(c);
    if ((tag & 1u) != 0) return bad("webp", "VP8 frame is not a key frame");
    if (((tag >> 1) & 7u) > 3) return bad("webp", "unknown VP8 profile");
    if (((tag >> 4) & 1u) == 0) return bad("webp", "VP8 frame is not shown");
    if ((tag >> 5) >= chunk_size) return bad("webp", "VP8 partition exceeds its chunk");
    if (c[3] != 0x9D || c[4] != 0x01 || c[5] != 0x2A) return bad("webp", "VP8 start code missing");
    const std::uint32_t w = le16(c + 6) & 0x3FFFu, ht = le16(c + 8) & 0x3FFFu;
    if (w == 0 || ht == 0) return bad("webp", fmt::format("invalid dimensions {}x{}", w, ht));
    return ImageInfo{ImageFormat::webp, w, ht};
  }
  if (fourcc == "VP8L") {
    if (chunk_size < 5) return bad("webp", "VP8L chunk shorter than 5 bytes");
    if (Status s = need(src, 20, 5, c, "webp", "VP8L header"); !s) return s;
    if (c[0] != 0x2F) return bad("webp", "VP8L signature missing");
    const std::uint32_t bits = le32(c + 1);
    if ((bits >> 29) != 0) return bad("webp", "unknown VP8L version");
    return ImageInfo{ImageFormat::webp, (bits & 0x3FFFu) + 1, ((bits >> 14) & 0x3FFFu) + 1};
  }
  return bad("webp", "first chunk is not VP8, VP8L or VP8X");
}

inline Result<ImageInfo> parse(Source& src) {
  unsigned char h[12] = {};
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(src.size(), sizeof h));
  if (!src.read(0, n, h)) {
    if (!src.io().ok()) return src.io();
    return Status{Code::invalid_argument, "the file shrank while it was read"};
  }
  // A prefix of a signature identifies a truncated file of that format.
  auto starts = [&](const unsigned char* sig, std::size_t len) {
    return std::memcmp(h, sig, std::min(n, len)) == 0 && n > 0;
  };
  static constexpr unsigned char kJpeg[3] = {0xFF, 0xD8, 0xFF};
  if (starts(kPngSignature, 8)) return n < 8 ? bad("png", "truncated signature") : parse_png(src);
  if (starts(kJpeg, 3)) return n < 3 ? bad("jpeg", "truncated signature") : parse_jpeg(src);
  if (starts(reinterpret_cast<const unsigned char*>("RIFF"), 4) &&
      (n < 12 || std::memcmp(h + 8, "WEBP", 4) == 0))
    return n < 12 ? bad("webp", "truncated RIFF header") : parse_webp(src);
  return Status{Code::invalid_argument,
                fmt::format("not a PNG, JPEG or WebP image ({} bytes, unknown signature)", src.size())};
}

// Opens a regular file for reading (O_NONBLOCK so that a FIFO cannot block the open).
inline Result<int> open_regular(const std::string& path, struct stat* st) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return detail::errno_status(fmt::format("open {}", path), errno);
  if (::fstat(fd, st) != 0) {
    const int err = errno;
    ::close(fd);
    return detail::errno_status(fmt::format("stat {}", path), err);
  }
  if (!S_ISREG(st->st_mode)) {
    ::close(fd);
    return Status{Code::invalid_argument, fmt::format("{}: not a regular file", path)};
  }
  return fd;
}

}  // namespace image_info_impl

FA_INLINE std::string_view image_format_name(ImageFormat f) noexcept {
  switch (f) {
    case ImageFormat::png: return "png";
    case ImageFormat::jpeg: return "jpeg";
    case ImageFormat::webp: return "webp";
    case ImageFormat::other: break;
  }
  return "other";
}

FA_INLINE Result<ImageInfo> parse_image_info(std::string_view file_bytes) {
  image_info_impl::MemorySource src(file_bytes);
  return image_info_impl::parse(src);
}

FA_INLINE Result<ImageInfo> read_image_info(const std::string& path) {
  struct stat st {};
  Result<int> fd = image_info_impl::open_regular(path, &st);
  if (!fd) return fd.status();
  image_info_impl::FdSource src(*fd, static_cast<std::uint64_t>(st.st_size), path);
  Result<ImageInfo> r = image_info_impl::parse(src);
  ::close(*fd);
  return r;
}

FA_INLINE Result<OutputFile> describe_output(const std::string& path) {
  struct stat st {};
  Result<int> fd = image_info_impl::open_regular(path, &st);
  if (!fd) return fd.status();
  OutputFile out;
  out.path = path;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  {
    image_info_impl::FdSource src(*fd, size, path);  // pread only: the file offset stays at 0
    Result<ImageInfo> info = image_info_impl::parse(src);
    if (info) {
      out.format = info->format;
      out.width = info->width;
      out.height = info->height;
    } else if (info.status().code() == Code::invalid_argument) {
      out.image_error = info.status().message();
    } else {
      ::close(*fd);
      return info.status();
    }
  }
  detail::Sha256 h;
  std::uint64_t hashed = 0;
  const Status s = detail::read_chunks(
      *fd, 1u << 20,
      [&](std::string_view chunk) {
        h.update(chunk);
        hashed += chunk.size();
      },
      path);
  ::close(*fd);
  if (!s) return s;
  if (hashed != size)
    return Status{Code::io_error, fmt::format("{} changed size while it was read ({} then {} bytes)", path, size,
                                              hashed)};
  out.sha256 = "sha256:" + detail::to_hex(h.final());
  out.file_size_bytes = hashed;
  return out;
}

}  // namespace fooocus_audit
