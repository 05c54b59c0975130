// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/merkle.hpp"
#include "support/merkle_vectors.hpp"

using fooocus_audit::Hash;
using fooocus_audit::detail::to_hex;
namespace merkle = fooocus_audit::merkle;
using namespace fa_test;

TEST_CASE("merkle: leaf, node and empty hashes carry the RFC 6962 prefixes") {
  CHECK(to_hex(merkle::empty_root()) == kRootHashes[0]);
  CHECK(merkle::empty_root() == fooocus_audit::detail::sha256(""));
  CHECK(to_hex(merkle::leaf_hash("")) == kRootHashes[1]);
  CHECK(merkle::leaf_hash("abc") == fooocus_audit::detail::sha256(std::string("\x00" "abc", 4)));
  const Hash a = merkle::leaf_hash(kLeafInputs[0]), b = merkle::leaf_hash(kLeafInputs[1]);
  CHECK(to_hex(merkle::node_hash(a, b)) == kRootHashes[2]);
  std::string node("\x01", 1);
  node.append(reinterpret_cast<const char*>(a.data()), a.size());
  node.append(reinterpret_cast<const char*>(b.data()), b.size());
  CHECK(merkle::node_hash(a, b) == fooocus_audit::detail::sha256(node));
  CHECK(merkle::node_hash(b, a) != merkle::node_hash(a, b));
}

TEST_CASE("merkle: Frontier and root_of match the reference tree heads for sizes 0..8") {
  merkle::Frontier f;
  std::vector<Hash> leaves;
  CHECK(to_hex(f.root()) == kRootHashes[0]);
  CHECK(to_hex(merkle::root_of(leaves)) == kRootHashes[0]);
  for (std::size_t n = 1; n <= kLeafInputs.size(); ++n) {
    INFO("tree size " << n);
    leaves.push_back(merkle::leaf_hash(kLeafInputs[n - 1]));
    f.append(leaves.back());
    CHECK(f.size() == n);
    CHECK(to_hex(f.root()) == kRootHashes[n]);
    CHECK(to_hex(merkle::root_of(leaves)) == kRootHashes[n]);
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
