// SPDX-License-Identifier: Apache-2.0
#pragma once
// Small image files built byte by byte, for the image header and tracker tests: a complete PNG (real zlib
// stream and CRCs, decodable), a baseline greyscale JPEG (every block mid-grey, one-code Huffman tables) and
// WebP files whose RIFF structure and first chunk header are exact (VP8, VP8L, VP8X). No image library.

#include <cstdint>
#include <string>

namespace fa_test {

namespace images_impl {

inline std::uint32_t crc32(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

inline void be32(std::string& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}
inline void be16(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
  out.push_back(static_cast<char>(v & 0xFF));
}
inline void le16(std::string& out, std::uint32_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
}
inline void le24(std::string& out, std::uint32_t v) {
  le16(out, v & 0xFFFF);
  out.push_back(static_cast<char>((v >> 16) & 0xFF));
}
inline void le32(std::string& out, std::uint32_t v) {
  le16(out, v & 0xFFFF);
  le16(out, v >> 16);
}

inline std::string png_chunk(const std::string& type, const std::string& data) {
  std::string out;
  be32(out, static_cast<std::uint32_t>(data.size()));
  out += type + data;
  be32(out, crc32(type + data));
  return out;
}

// A zlib stream of stored (uncompressed) deflate blocks.
inline std::string zlib_stored(const std::string& raw) {
  std::string out = "\x78\x01";
  std::size_t off = 0;
  do {
    const std::size_t n = raw.size() - off < 65535 ? raw.size() - off : 65535;
    out.push_back(off + n == raw.size() ? 1 : 0);
    le16(out, static_cast<std::uint32_t>(n));
    le16(out, static_cast<std::uint32_t>(~n & 0xFFFF));
    out.append(raw, off, n);
    off += n;
  } while (off < raw.size());
  std::uint32_t a = 1, b = 0;
  for (unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  be32(out, (b << 16) | a);
  return out;
}

}  // namespace images_impl

/// The IHDR chunk (with its length and CRC) for an 8-bit RGB image: bytes 8..32 of a PNG.
inline std::string png_ihdr(std::uint32_t width, std::uint32_t height, unsigned char depth = 8,
                            unsigned char colour = 2) {
  std::string d;
  images_impl::be32(d, width);
  images_impl::be32(d, height);
  d.push_back(static_cast<char>(depth));
  d.push_back(static_cast<char>(colour));
  d.append(3, '\0');
  return images_impl::png_chunk("IHDR", d);
}

/// A complete 8-bit RGB PNG (a colour gradient; tEXt chunk before the data, as Fooocus writes metadata).
inline std::string make_png(std::uint32_t width, std::uint32_t height) {
  std::string raw;
  for (std::uint32_t y = 0; y < height; ++y) {
    raw.push_back('\0');  // filter: none
    for (std::uint32_t x = 0; x < width; ++x) {
      raw.push_back(static_cast<char>(x * 7));
      raw.push_back(static_cast<char>(y * 5));
      raw.push_back(static_cast<char>((x + y) * 3));
    }
  }
  return std::string("\x89PNG\r\n\x1a\n", 8) + png_ihdr(width, height) +
         images_impl::png_chunk("tEXt", std::string("parameters\0{\"prompt\": \"a cat\"}", 30)) +
         images_impl::png_chunk("IDAT", images_impl::zlib_stored(raw)) + images_impl::png_chunk("IEND", "");
}

/// A baseline greyscale JPEG of width x height: SOI, APP0 (JFIF), an APP1 of `app1_bytes` payload (Exif-like
/// metadata the parser must skip), DQT, SOF0, DHT x2, SOS, entropy-coded data, EOI. Every 8x8 block is
/// coded as DC difference 0 and end-of-block with one-code Huffman tables.
inline std::string make_jpeg(std::uint32_t width, std::uint32_t height, std::size_t app1_bytes = 64) {
  using images_impl::be16;
  std::string j("\xFF\xD8", 2);
  j += std::string("\xFF\xE0", 2);  // APP0 JFIF 1.01, no thumbnail
  be16(j, 16);
  j += std::string("JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00", 14);
  j += std::string("\xFF\xE1", 2);
  be16(j, static_cast<std::uint32_t>(app1_bytes + 2));
  std::string app1 = std::string("Exif\0\0", 6);
  app1.resize(app1_bytes, '\xAB');
  j += app1.substr(0, app1_bytes);
  j += std::string("\xFF\xDB", 2);  // DQT: table 0, 8-bit, all ones
  be16(j, 67);
  j.push_back('\0');
  j.append(64, '\x01');
  j += std::string("\xFF\xC0", 2);  // SOF0: 8-bit, 1 component (id 1, 1x1 sampling, table 0)
  be16(j, 11);
  j.push_back('\x08');
  be16(j, height);
  be16(j, width);
  j += std::string("\x01\x01\x11\x00", 4);
  for (const char cls : {'\x00', '\x10'}) {  // DHT: DC table 0 and AC table 0, each one code "0" -> symbol 0
    j += std::string("\xFF\xC4", 2);
    be16(j, 2 + 1 + 16 + 1);
    j.push_back(cls);
    j.push_back('\x01');
    j.append(15, '\0');
    j.push_back('\0');
  }
  j += std::string("\xFF\xDA", 2);  // SOS: 1 component, tables 0/0, spectral 0..63
  be16(j, 8);
  j += std::string("\x01\x01\x00\x00\x3F\x00", 6);
  const std::uint64_t blocks = std::uint64_t{(width + 7) / 8} * ((height + 7) / 8);
  std::uint64_t bits = blocks * 2;  // "0" (DC category 0) + "0" (EOB) per block, padded with ones
  for (; bits >= 8; bits -= 8) j.push_back('\0');
  if (bits > 0) j.push_back(static_cast<char>(0xFF >> bits));
  j += std::string("\xFF\xD9", 2);
  return j;
}

namespace images_impl {
inline std::string riff(const std::string& chunks) {
  std::string out = "RIFF";
  le32(out, static_cast<std::uint32_t>(4 + chunks.size()));
  return out + "WEBP" + chunks;
}
inline std::string riff_chunk(const std::string& fourcc, const std::string& data) {
  std::string out = fourcc;
  le32(out, static_cast<std::uint32_t>(data.size()));
  out += data;
  if (data.size() % 2 == 1) out.push_back('\0');
  return out;
}
}  // namespace images_impl

/// A lossy WebP (simple format): a VP8 key frame header of width x height and `payload` further bytes.
inline std::string make_webp_vp8(std::uint32_t width, std::uint32_t height, std::size_t payload = 32) {
  std::string d;
  const std::uint32_t partition = 8;
  images_impl::le24(d, 0u /*key frame*/ | (0u << 1) /*profile*/ | (1u << 4) /*shown*/ | (partition << 5));
  d += std::string("\x9D\x01\x2A", 3);
  images_impl::le16(d, width & 0x3FFF);
  images_impl::le16(d, height & 0x3FFF);
  d.append(payload, '\x55');
  return images_impl::riff(images_impl::riff_chunk("VP8 ", d));
}

/// A lossless WebP (simple format): a VP8L header of width x height and `payload` further bytes.
inline std::string make_webp_vp8l(std::uint32_t width, std::uint32_t height, std::size_t payload = 16) {
  std::string d("\x2F", 1);
  images_impl::le32(d, ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14) | (1u << 28));
  d.append(payload, '\x11');
  return images_impl::riff(images_impl::riff_chunk("VP8L", d));
}

/// An extended WebP: VP8X (canvas width x height, alpha flag) followed by a VP8L image chunk.
inline std::string make_webp_vp8x(std::uint32_t width, std::uint32_t height) {
  std::string x;
  x.push_back('\x10');  // alpha
  x.append(3, '\0');
  images_impl::le24(x, width - 1);
  images_impl::le24(x, height - 1);
  std::string l("\x2F", 1);
  images_impl::le32(l, ((width - 1) & 0x3FFF) | (((height - 1) & 0x3FFF) << 14) | (1u << 28));
  l.append(9, '\x22');
  return images_impl::riff(images_impl::riff_chunk("VP8X", x) + images_impl::riff_chunk("VP8L", l));
}

}  // namespace fa_test
