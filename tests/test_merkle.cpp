// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/merkle.hpp"

using fooocus_audit::Hash;
using fooocus_audit::detail::to_hex;
namespace merkle = fooocus_audit::merkle;

namespace {

// The RFC 6962 reference leaves used by certificate-transparency and transparency-dev/merkle, and the
// tree heads for sizes 0..8 that every interoperable implementation computes from them.
const std::vector<std::string> kLeaves = {
    std::string(),
    std::string("\x00", 1),
    "\x10",
    "\x20\x21",
    "\x30\x31",
    "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57",
    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
};

const char* const kRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::vector<Hash> random_leaves(std::size_t n, std::mt19937_64& rng) {
  std::vector<Hash> out(n);
  for (auto& h : out)
    for (auto& b : h) b = static_cast<std::uint8_t>(rng());
  return out;
}

}  // namespace

TEST_CASE("merkle: leaf, node and empty hashes carry the RFC 6962 prefixes") {
  CHECK(to_hex(merkle::empty_root()) == kRoots[0]);
  CHECK(merkle::empty_root() == fooocus_audit::detail::sha256(""));
  CHECK(to_hex(merkle::leaf_hash("")) == kRoots[1]);
  CHECK(merkle::leaf_hash("abc") == fooocus_audit::detail::sha256(std::string("\x00" "abc", 4)));
  const Hash a = merkle::leaf_hash(kLeaves[0]), b = merkle::leaf_hash(kLeaves[1]);
  CHECK(to_hex(merkle::node_hash(a, b)) == kRoots[2]);
  std::string node("\x01", 1);
  node.append(reinterpret_cast<const char*>(a.data()), a.size());
  node.append(reinterpret_cast<const char*>(b.data()), b.size());
  CHECK(merkle::node_hash(a, b) == fooocus_audit::detail::sha256(node));
  CHECK(merkle::node_hash(b, a) != merkle::node_hash(a, b));
}

TEST_CASE("merkle: Frontier and root_of match the reference tree heads for sizes 0..8") {
  merkle::Frontier f;
  std::vector<Hash> leaves;
  CHECK(to_hex(f.root()) == kRoots[0]);
  CHECK(to_hex(merkle::root_of(leaves)) == kRoots[0]);
  for (std::size_t n = 1; n <= kLeaves.size(); ++n) {
    INFO("tree size " << n);
    leaves.push_back(merkle::leaf_hash(kLeaves[n - 1]));
    f.append(leaves.back());
    CHECK(f.size() == n);
    CHECK(to_hex(f.root()) == kRoots[n]);
    CHECK(to_hex(merkle::root_of(leaves)) == kRoots[n]);
  }
}

TEST_CASE("merkle: the frontier holds one perfect subtree root per set bit of the size") {
  std::mt19937_64 rng(7);
  const auto leaves = random_leaves(13, rng);  // 13 = 8 + 4 + 1
  merkle::Frontier f;
  for (const auto& h : leaves) f.append(h);
  REQUIRE(f.nodes().size() == 3);
  CHECK(f.nodes()[0] == merkle::root_of({leaves.begin(), leaves.begin() + 8}));
  CHECK(f.nodes()[1] == merkle::root_of({leaves.begin() + 8, leaves.begin() + 12}));
  CHECK(f.nodes()[2] == leaves[12]);
}

TEST_CASE("merkle: Frontier equals root_of for every size 0..300") {
  std::mt19937_64 rng(20240601);
  const auto leaves = random_leaves(300, rng);
  merkle::Frontier f;
  CHECK(f.root() == merkle::root_of({}));
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    f.append(leaves[n - 1]);
    const std::vector<Hash> prefix(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(n));
    INFO("tree size " << n);
    REQUIRE(f.root() == merkle::root_of(prefix));
    std::size_t set_bits = 0;
    for (std::size_t b = n; b != 0; b &= b - 1) ++set_bits;
    REQUIRE(f.nodes().size() == set_bits);
  }
}

TEST_CASE("merkle: from_nodes restores a frontier that keeps growing identically") {
  std::mt19937_64 rng(99);
  const auto leaves = random_leaves(70, rng);
  for (std::size_t cut : {0, 1, 2, 3, 7, 8, 31, 32, 33, 64, 69}) {
    INFO("restored at size " << cut);
    merkle::Frontier a;
    for (std::size_t i = 0; i < cut; ++i) a.append(leaves[i]);
    merkle::Frontier b = merkle::Frontier::from_nodes(a.size(), a.nodes());
    CHECK(b.size() == a.size());
    CHECK(b.root() == a.root());
    for (std::size_t i = cut; i < leaves.size(); ++i) {
      a.append(leaves[i]);
      b.append(leaves[i]);
    }
    CHECK(b.root() == a.root());
    CHECK(b.nodes() == a.nodes());
  }
}

TEST_CASE("merkle: from_nodes rejects a node count that does not fit the size") {
  const Hash h{};
  CHECK_THROWS_AS(merkle::Frontier::from_nodes(0, {h}), std::invalid_argument);
  CHECK_THROWS_AS(merkle::Frontier::from_nodes(3, {h}), std::invalid_argument);
  CHECK_THROWS_AS(merkle::Frontier::from_nodes(4, {h, h}), std::invalid_argument);
  CHECK_NOTHROW(merkle::Frontier::from_nodes(0, {}));
  CHECK_NOTHROW(merkle::Frontier::from_nodes(5, {h, h}));
  CHECK(merkle::Frontier::from_nodes(1, {h}).root() == h);
}
