// SPDX-License-Identifier: Apache-2.0
// The small-file helpers of detail/segment_store.hpp that anchors, key files and signer state are written and
// read with: atomic replacement, exclusive creation, the parent directory of a path, and parse_file.

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "fooocus_audit/detail/segment_store.hpp"
#include "support/files.hpp"

namespace detail = fooocus_audit::detail;
using fooocus_audit::Code;
using fooocus_audit::Result;
using fooocus_audit::Status;
using fa_test::TempDir;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("segment_store: parent_dir of a path") {
  CHECK(detail::parent_dir("file") == ".");
  CHECK(detail::parent_dir("/file") == "/");
  CHECK(detail::parent_dir("/a/b/file") == "/a/b");
  CHECK(detail::parent_dir("a/file") == "a");
}

TEST_CASE("segment_store: write_file_atomic replaces a file whole, with its mode, and leaves no temporary") {
  TempDir tmp;
  const std::string path = tmp / "state.json";
  REQUIRE(detail::write_file_atomic(path, "first\n", 0600));
  CHECK(fa_test::read_bytes(path) == "first\n");
  CHECK(mode_of(path) == 0600);

  // A temporary file left by a crashed run of this process, readable by others, is taken over and tightened.
  const std::string stale = path + ".tmp." + std::to_string(::getpid());
  fa_test::write_bytes(stale, "stale bytes that are longer than the new content");
  REQUIRE(::chmod(stale.c_str(), 0644) == 0);
  REQUIRE(detail::write_file_atomic(path, "second\n", 0600));
  CHECK(fa_test::read_bytes(path) == "second\n");
  CHECK(mode_of(path) == 0600);
  CHECK_FALSE(exists(stale));

  // A directory that does not exist: an error naming the temporary file, and nothing written.
  const Status s = detail::write_file_atomic(tmp / "missing/state.json", "x", 0600);
  CHECK(s.code() == Code::not_found);
  CHECK(contains(s.message(), "create " + (tmp / "missing/state.json.tmp.")));
  CHECK_FALSE(exists(tmp / "missing"));
}

TEST_CASE("segment_store: create_file_exclusive creates once, never overwrites, never follows a link") {
  TempDir tmp;
  const std::string path = tmp / "secret.key";
  REQUIRE(detail::create_file_exclusive(path, "secret bytes\n", 0600, "test key file"));
  CHECK(fa_test::read_bytes(path) == "secret bytes\n");
  CHECK(mode_of(path) == 0600);

  const Status again = detail::create_file_exclusive(path, "other secret\n", 0600, "test key file");
  CHECK(again.code() == Code::io_error);
  CHECK(contains(again.message(), "create test key file " + path));
  CHECK_FALSE(contains(again.message(), "secret\n"));
  CHECK(fa_test::read_bytes(path) == "secret bytes\n");  // the existing file is left alone

  const std::string link = tmp / "link.key", target = tmp / "target.key";
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
  const Status linked = detail::create_file_exclusive(link, "x", 0600);
  CHECK_FALSE(linked.ok());
  CHECK(contains(linked.message(), "create " + link));
  CHECK_FALSE(exists(target));
}

TEST_CASE("segment_store: parse_file names the file when its text does not parse") {
  TempDir tmp;
  const std::string path = tmp / "number.txt";
  fa_test::write_bytes(path, "forty-two");
  auto parse_int = [](std::string_view text) -> Result<int> {
    if (text == "42") return 42;
    return Status(Code::invalid_argument, "not 42");
  };
  Result<int> bad = detail::parse_file<int>(path, parse_int);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::invalid_argument);
  CHECK(bad.status().message() == path + ": not 42");

  fa_test::write_bytes(path, "42");
  Result<int> good = detail::parse_file<int>(path, parse_int);
  REQUIRE(good.ok());
  CHECK(good.value() == 42);

  CHECK(detail::parse_file<int>(tmp / "absent.txt", parse_int).status().code() == Code::not_found);
}
