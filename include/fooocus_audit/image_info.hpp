// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file image_info.hpp
/// Format, width and height of a generated image, read from its header without an image library, and the
/// description of an output file that a generation event records (hash, size, dimensions, format).
///
/// The parsers are written for hostile input: every length is checked against the file size before it is
/// used, every loop is bounded, and a malformed, truncated or unknown file is refused with
/// Code::invalid_argument and a message naming the format and the problem ("png: IHDR CRC mismatch"). They
/// never read more than a few KiB of a file, whatever its size (a JPEG's segments are skipped by length).
///
/// What is checked, per format:
/// - PNG: the signature, the IHDR chunk (length 13, width and height 1..2^31-1, a valid bit depth / colour
///   type pair, compression, filter and interlace methods, its CRC) and that the file ends with IEND.
/// - JPEG: SOI, then markers segment by segment up to the first frame header (SOF0-3, 5-7, 9-11, 13-15;
///   at most 4096 segments, each inside the file) and that the file ends with EOI. A frame whose height is
///   defined later by a DNL marker (height 0) is refused.
/// - WebP: the RIFF header (its size inside the file: a truncated file is refused) and the first chunk:
///   VP8 (key frame, start code, 14-bit dimensions), VP8L (signature 0x2f, version 0) or VP8X (canvas size,
///   width x height below 2^32).

#include <cstdint>
#include <string>
#include <string_view>

#include "fooocus_audit/common.hpp"

namespace fooocus_audit {

enum class ImageFormat {
  other,  ///< not recognized (or not a valid PNG, JPEG or WebP file)
  png,
  jpeg,
  webp,
};

/// "png", "jpeg", "webp" or "other": the `format` values of a generation.completed output.
std::string_view image_format_name(ImageFormat f) noexcept;

struct ImageInfo {
  ImageFormat format = ImageFormat::other;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};

/// Reads the header of the image file at `path` (a regular file; a FIFO or device is refused without being
/// read). Errors: not_found, io_error (path and errno text), invalid_argument (not a valid PNG, JPEG or WebP
/// file: the message says why).
Result<ImageInfo> read_image_info(const std::string& path);

/// The same checks on a whole file held in memory (`file_bytes` must be the complete file: the end markers
/// and sizes are checked against its length).
Result<ImageInfo> parse_image_info(std::string_view file_bytes);

/// An output file as a generation event records it.
struct OutputFile {
  std::string path;
  std::string sha256;                ///< "sha256:<64 lowercase hex>" of the contents
  std::uint64_t file_size_bytes = 0;  ///< bytes hashed
  ImageFormat format = ImageFormat::other;
  std::uint32_t width = 0;   ///< 0 when format is other
  std::uint32_t height = 0;  ///< 0 when format is other
  std::string image_error;   ///< why the file is not a valid PNG, JPEG or WebP image; empty when it is
};

/// Hashes a regular file in streaming fashion (flat memory, the same digest as hash_file()) and reads its
/// image header, through one open file descriptor, so the size, dimensions and hash describe the same file
/// even if the path is replaced meanwhile. A file that is not a valid image is still described (format
/// other, dimensions 0, image_error set): its hash is evidence either way. Errors: not_found, io_error (also
/// when the file changed size while it was read), invalid_argument (not a regular file).
Result<OutputFile> describe_output(const std::string& path);

}  // namespace fooocus_audit

#ifdef FOOOCUS_AUDIT_HEADER_ONLY
#include "fooocus_audit/image_info-inl.hpp"
#endif
