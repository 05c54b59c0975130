// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the PNG / JPEG / WebP header parsers of image_info.hpp on hostile bytes.
//
// Invariants (any violation aborts; ASan/UBSan catch out-of-bounds reads and overflow):
// - parse_image_info either refuses with invalid_argument or returns a known format with width and height
//   at least 1 (PNG: below 2^31; JPEG: below 2^16; WebP: width * height below 2^32).
// - The same bytes read from a file (read_image_info) give the same answer.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#define FA_FUZZ_TARGET "fuzz_image_info"
#include "fuzz_check.hpp"
#include "fooocus_audit/image_info.hpp"

namespace fa = fooocus_audit;

namespace {

std::string temp_path() {
  const char* base = std::getenv("TMPDIR");
  return std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/fuzz_image_info." +
         std::to_string(::getpid());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const fa::Result<fa::ImageInfo> r = fa::parse_image_info(input);
  if (r.ok()) {
    const fa::ImageInfo& i = r.value();
    CHECK(i.format != fa::ImageFormat::other);
    CHECK(i.width >= 1 && i.height >= 1);
    if (i.format == fa::ImageFormat::png) CHECK(i.width < 0x80000000u && i.height < 0x80000000u);
    if (i.format == fa::ImageFormat::jpeg) CHECK(i.width <= 0xFFFFu && i.height <= 0xFFFFu);
    if (i.format == fa::ImageFormat::webp) CHECK(std::uint64_t{i.width} * i.height <= 0xFFFFFFFFull);
  } else {
    CHECK(r.status().code() == fa::Code::invalid_argument);
  }

  // The file path reads through a small window with pread: it must agree with the buffer path.
  static const std::string path = temp_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  const bool written = std::fwrite(data, 1, size, f) == size;
  std::fclose(f);
  if (!written) return 0;
  const fa::Result<fa::ImageInfo> g = fa::read_image_info(path);
  CHECK(g.ok() == r.ok());
  if (g.ok()) {
    CHECK(g.value().format == r.value().format);
    CHECK(g.value().width == r.value().width);
    CHECK(g.value().height == r.value().height);
  } else {
    CHECK(g.status().message() == r.status().message());
  }
  return 0;
}
