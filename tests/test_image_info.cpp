// SPDX-License-Identifier: Apache-2.0
// Image headers (image_info.hpp): format, width and height of minimal valid PNG, JPEG and WebP files from a
// buffer and from a file; every truncation and each kind of corruption refused cleanly, hostile lengths
// bounded; describe_output's hash, size and dimensions.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fooocus_audit/file_hash.hpp"
#include "fooocus_audit/image_info.hpp"
#include "support/files.hpp"
#include "support/images.hpp"

namespace fa = fooocus_audit;
using fa::Code;
using fa::ImageFormat;

namespace {

struct Sample {
  const char* name;
  std::string bytes;
  ImageFormat format;
  std::uint32_t width, height;
};

std::vector<Sample> samples() {
  return {
      {"png", fa_test::make_png(64, 48), ImageFormat::png, 64, 48},
      {"jpeg", fa_test::make_jpeg(1024, 768), ImageFormat::jpeg, 1024, 768},
      {"jpeg with a 60 KB APP1", fa_test::make_jpeg(33, 17, 60000), ImageFormat::jpeg, 33, 17},
      {"webp VP8", fa_test::make_webp_vp8(1152, 896), ImageFormat::webp, 1152, 896},
      {"webp VP8L", fa_test::make_webp_vp8l(16383, 1), ImageFormat::webp, 16383, 1},
      {"webp VP8X", fa_test::make_webp_vp8x(1216, 832), ImageFormat::webp, 1216, 832},
  };
}

// Refused with invalid_argument and a message containing `what`.
void require_refused(const std::string& bytes, const std::string& what) {
  fa::Result<fa::ImageInfo> r = fa::parse_image_info(bytes);
  INFO("expected refusal containing: " << what);
  REQUIRE_FALSE(r.ok());
  INFO(r.status().to_string());
  CHECK(r.status().code() == Code::invalid_argument);
  CHECK(r.status().message().find(what) != std::string::npos);
}

std::string with_byte(std::string s, std::size_t off, unsigned char v) {
  s.at(off) = static_cast<char>(v);
  return s;
}

}  // namespace

TEST_CASE("image: minimal valid PNG, JPEG and WebP files give format, width and height") {
  fa_test::TempDir dir("fa_image");
  for (const Sample& s : samples()) {
    INFO(s.name);
    fa::Result<fa::ImageInfo> r = fa::parse_image_info(s.bytes);
    INFO(r.status().to_string());
    REQUIRE(r.ok());
    CHECK(r->format == s.format);
    CHECK(r->width == s.width);
    CHECK(r->height == s.height);

    const std::string path = dir / "img";
    fa_test::write_bytes(path, s.bytes);
    fa::Result<fa::ImageInfo> f = fa::read_image_info(path);
    INFO(f.status().to_string());
    REQUIRE(f.ok());
    CHECK(f->format == s.format);
    CHECK(f->width == s.width);
    CHECK(f->height == s.height);
  }
  CHECK(fa::image_format_name(ImageFormat::png) == "png");
  CHECK(fa::image_format_name(ImageFormat::jpeg) == "jpeg");
  CHECK(fa::image_format_name(ImageFormat::webp) == "webp");
  CHECK(fa::image_format_name(ImageFormat::other) == "other");
}

TEST_CASE("image: every truncation of every sample is refused, from a buffer and from a file") {
  fa_test::TempDir dir("fa_image");
  const std::string path = dir / "cut";
  for (const Sample& s : samples()) {
    INFO(s.name);
    // All short prefixes, then a stride through long ones (the 60 KB APP1 sample), and the last few bytes.
    for (std::size_t n = 0; n < s.bytes.size(); n += (n < 256 || n + 64 > s.bytes.size()) ? 1 : 97) {
      INFO("prefix of " << n << " bytes");
      const std::string cut = s.bytes.substr(0, n);
      fa::Result<fa::ImageInfo> r = fa::parse_image_info(cut);
      REQUIRE_FALSE(r.ok());
      REQUIRE(r.status().code() == Code::invalid_argument);
      if (n % 7 == 0 || n + 3 > s.bytes.size()) {
        fa_test::write_bytes(path, cut);
        fa::Result<fa::ImageInfo> f = fa::read_image_info(path);
        REQUIRE_FALSE(f.ok());
        REQUIRE(f.status().code() == Code::invalid_argument);
      }
    }
  }
  // The message says what is wrong.
  require_refused(fa_test::make_png(4, 4).substr(0, 40), "png: truncated");
  const std::string jpeg = fa_test::make_jpeg(8, 8);
  require_refused(jpeg.substr(0, jpeg.size() - 1), "does not end with EOI");
  require_refused(jpeg.substr(0, 30), "jpeg: truncated");
  const std::string webp = fa_test::make_webp_vp8(8, 8);
  require_refused(webp.substr(0, webp.size() - 1), "webp: truncated");
  require_refused(std::string("\x89PNG", 4), "png: truncated signature");
  require_refused("", "not a PNG, JPEG or WebP image");
}

TEST_CASE("image: corrupted PNG headers are refused") {
  const std::string png = fa_test::make_png(8, 8);
  require_refused(with_byte(png, 20, 0x7F), "IHDR CRC mismatch");  // a width byte changed
  require_refused(with_byte(png, 3, 'X'), "not a PNG, JPEG or WebP image");
  const std::string sig("\x89PNG\r\n\x1a\n", 8);
  const std::string tail = png.substr(33);
  require_refused(sig + fa_test::png_ihdr(0, 8) + tail, "invalid dimensions 0x8");
  require_refused(sig + fa_test::png_ihdr(8, 0x80000000u) + tail, "invalid dimensions");
  require_refused(sig + fa_test::png_ihdr(8, 8, 16, 3) + tail, "invalid bit depth 16 for colour type 3");
  require_refused(sig + fa_test::png_ihdr(8, 8, 8, 5) + tail, "invalid bit depth");
  std::string bad_length = png;
  bad_length[11] = 14;  // IHDR length 14
  require_refused(bad_length, "13-byte IHDR");
  std::string not_ihdr = png;
  not_ihdr[12] = 'i';
  require_refused(not_ihdr, "13-byte IHDR");
  require_refused(png + "trailing", "does not end with an IEND chunk");
  std::string bad_method = png;
  bad_method[26] = 1;  // compression method
  require_refused(bad_method, "IHDR CRC mismatch");  // the CRC is checked first
}

TEST_CASE("image: corrupted JPEG segments are refused and hostile lengths stay bounded") {
  const std::string soi("\xFF\xD8", 2), eoi("\xFF\xD9", 2);
  const std::string jpeg = fa_test::make_jpeg(16, 16);
  const std::size_t sof = jpeg.find(std::string("\xFF\xC0", 2));
  REQUIRE(sof != std::string::npos);

  require_refused(with_byte(jpeg, 20, 0x12), "expected a marker at offset 20");  // APP1 follows APP0
  require_refused(soi + std::string("\xFF\xE0\x00\x01", 4) + eoi, "segment length 1");
  require_refused(soi + std::string("\xFF\xE0\x00\x00", 4) + eoi, "segment length 0");
  require_refused(soi + std::string("\xFF\xE0\xFF\xF0", 4) + std::string(100, 'x') + eoi, "jpeg: truncated");
  require_refused(soi + eoi, "end of image before any frame header");
  require_refused(soi + std::string("\xFF\xDA\x00\x08", 4) + std::string(6, '\0') + eoi, "scan before any frame");
  require_refused(soi + std::string("\xFF\xD8", 2) + eoi, "unexpected marker 0xD8");
  require_refused(soi + std::string("\xFF\x00", 2) + eoi, "unexpected marker 0x00");
  // SOF with a component count that disagrees with its length, a zero width, a DNL height.
  require_refused(with_byte(jpeg, sof + 9, 3), "for 3 components");
  require_refused(with_byte(with_byte(jpeg, sof + 7, 0), sof + 8, 0), "frame width 0");
  require_refused(with_byte(with_byte(jpeg, sof + 5, 0), sof + 6, 0), "DNL");
  require_refused(with_byte(jpeg, sof + 3, 5), "frame header of 5 bytes");
  require_refused(jpeg + "x", "does not end with EOI");

  // Fill bytes before a marker are allowed, a flood of them is refused.
  std::string filled = jpeg;
  filled.insert(sof, std::string(10, '\xFF'));
  fa::Result<fa::ImageInfo> r = fa::parse_image_info(filled);
  REQUIRE(r.ok());
  CHECK(r->width == 16);
  filled = jpeg;
  filled.insert(sof, std::string(10000, '\xFF'));
  require_refused(filled, "too many fill bytes");

  // Thousands of empty segments before the frame: refused after 4096, in bounded time.
  std::string many = soi;
  for (int i = 0; i < 5000; ++i) many += std::string("\xFF\xFE\x00\x02", 4);  // empty COM segments
  require_refused(many + jpeg.substr(2), "no frame header within the first 4096 segments");
  // Standalone markers (RSTn, TEM) carry no length and are stepped over.
  std::string standalone = soi + std::string("\xFF\xD0\xFF\x01", 4) + jpeg.substr(2);
  r = fa::parse_image_info(standalone);
  REQUIRE(r.ok());
  CHECK(r->height == 16);
}

TEST_CASE("image: corrupted WebP headers are refused") {
  const std::string vp8 = fa_test::make_webp_vp8(100, 50);
  const std::string vp8l = fa_test::make_webp_vp8l(100, 50);
  const std::string vp8x = fa_test::make_webp_vp8x(100, 50);
  auto set_le32 = [](std::string s, std::size_t off, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
    return s;
  };
  require_refused(set_le32(vp8, 4, 4), "RIFF size 4 too small");
  require_refused(set_le32(vp8, 4, 0xFFFFFFF0u), "webp: truncated");
  require_refused(set_le32(vp8, 16, 0x7FFFFFFFu), "exceeds the RIFF size");
  require_refused(with_byte(vp8, 15, 'Y'), "first chunk is not VP8, VP8L or VP8X");
  require_refused(with_byte(vp8, 8, 'X'), "not a PNG, JPEG or WebP image");  // RIFF but not WEBP
  require_refused(with_byte(vp8, 20, 0x31), "not a key frame");
  require_refused(with_byte(vp8, 20, 0x0E), "unknown VP8 profile");
  require_refused(with_byte(vp8, 20, 0x00), "not shown");
  require_refused(with_byte(vp8, 23, 0x9C), "start code");
  require_refused(with_byte(with_byte(vp8, 26, 0), 27, 0xC0), "invalid dimensions 0x50");  // scale bits only
  require_refused(set_le32(vp8, 16, 4), "VP8 chunk shorter than 10 bytes");
  require_refused(with_byte(vp8l, 20, 0x2E), "VP8L signature");
  require_refused(with_byte(vp8l, 24, 0x30), "unknown VP8L version");
  require_refused(set_le32(vp8l, 16, 4), "VP8L chunk shorter than 5 bytes");
  require_refused(set_le32(vp8x, 16, 8), "VP8X chunk shorter than 10 bytes");
  // Canvas 2^24 x 2^24: beyond 2^32 pixels.
  std::string huge = vp8x;
  for (std::size_t i = 24; i < 30; ++i) huge[i] = '\xFF';
  require_refused(huge, "exceeds 2^32-1 pixels");
  // Canvas 65536 x 65535 is below 2^32 pixels: accepted (dimensions beyond 16 bits).
  std::string big = vp8x;
  big[24] = '\xFF';
  big[25] = '\xFF';
  big[26] = 0;
  big[27] = '\xFE';
  big[28] = '\xFF';
  big[29] = 0;
  fa::Result<fa::ImageInfo> r = fa::parse_image_info(big);
  REQUIRE(r.ok());
  CHECK(r->width == 65536);
  CHECK(r->height == 65535);
  // Trailing bytes after the RIFF payload are ignored, as by libwebp.
  r = fa::parse_image_info(vp8 + "junk");
  REQUIRE(r.ok());
  CHECK(r->width == 100);
}

TEST_CASE("image: random bytes and random corruption never crash, hang or read out of bounds") {
  std::mt19937_64 rng(20260325);
  const std::vector<Sample> all = samples();
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = all[static_cast<std::size_t>(i) % all.size()].bytes;
    if (s.size() > 4096) s = fa_test::make_jpeg(9, 9);
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) s[rng() % std::min<std::size_t>(s.size(), 64)] = static_cast<char>(rng());
    if (rng() % 3 == 0) s.resize(rng() % (s.size() + 1));
    fa::Result<fa::ImageInfo> r = fa::parse_image_info(s);
    if (r.ok()) {
      ++accepted;
      CHECK(r->format != ImageFormat::other);
      CHECK(r->width > 0);
      CHECK(r->height > 0);
    } else {
      CHECK(r.status().code() == Code::invalid_argument);
    }
  }
  CHECK(accepted > 0);  // some corruptions (in payload bytes) leave a valid header
}

TEST_CASE("image: files that are not regular files, or missing, are refused without being read") {
  fa_test::TempDir dir("fa_image");
  fa::Result<fa::ImageInfo> r = fa::read_image_info(dir / "missing.png");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::not_found);
  r = fa::read_image_info(dir.path());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::invalid_argument);
  const std::string fifo = dir / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  r = fa::read_image_info(fifo);  // must not block waiting for a writer
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("not a regular file") != std::string::npos);
  fa::Result<fa::OutputFile> d = fa::describe_output(fifo);
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == Code::invalid_argument);
}

TEST_CASE("image: describe_output hashes like hash_file and reads the dimensions") {
  fa_test::TempDir dir("fa_image");
  for (const Sample& s : samples()) {
    INFO(s.name);
    const std::string path = dir / "out.bin";
    fa_test::write_bytes(path, s.bytes);
    fa::Result<fa::OutputFile> d = fa::describe_output(path);
    INFO(d.status().to_string());
    REQUIRE(d.ok());
    CHECK(d->path == path);
    CHECK(d->sha256 == fa::hash_file(path).value());
    CHECK(d->sha256.size() == 7 + 64);
    CHECK(d->file_size_bytes == s.bytes.size());
    CHECK(d->format == s.format);
    CHECK(d->width == s.width);
    CHECK(d->height == s.height);
    CHECK(d->image_error.empty());
  }
  // A file that is not an image is still described: its hash is evidence.
  const std::string text = dir / "notes.txt";
  fa_test::write_bytes(text, "not an image at all");
  fa::Result<fa::OutputFile> d = fa::describe_output(text);
  REQUIRE(d.ok());
  CHECK(d->format == ImageFormat::other);
  CHECK(d->width == 0);
  CHECK(d->file_size_bytes == 19);
  CHECK(d->sha256 == fa::hash_file(text).value());
  CHECK(d->image_error.find("not a PNG, JPEG or WebP image") != std::string::npos);
  // A truncated PNG likewise (format other, the reason kept).
  const std::string cut = dir / "cut.png";
  fa_test::write_bytes(cut, fa_test::make_png(8, 8).substr(0, 60));
  d = fa::describe_output(cut);
  REQUIRE(d.ok());
  CHECK(d->format == ImageFormat::other);
  CHECK(d->image_error.find("png:") == 0);
  // A large file: streamed, the same digest as hash_file.
  const std::string big = dir / "big.png";
  std::string png = fa_test::make_png(700, 700);  // ~1.4 MB, more than one read chunk
  fa_test::write_bytes(big, png);
  d = fa::describe_output(big);
  REQUIRE(d.ok());
  CHECK(d->file_size_bytes == png.size());
  CHECK(d->sha256 == fa::hash_file(big).value());
  CHECK(d->width == 700);
  d = fa::describe_output(dir / "missing.png");
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().code() == Code::not_found);
}
