// SPDX-License-Identifier: Apache-2.0
// Inclusion and consistency proofs (merkle.hpp): the RFC 6962 reference vectors, exhaustive agreement with
// the recursive definitions of RFC 6962 §2.1.1-2.1.2 for trees up to 70 leaves, and rejection of every
// altered proof.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/merkle.hpp"
#include "support/merkle_vectors.hpp"

using fooocus_audit::Code;
using fooocus_audit::Hash;
using fooocus_audit::Result;
using fooocus_audit::Status;
using fooocus_audit::detail::to_hex;
namespace merkle = fooocus_audit::merkle;
using namespace fa_test;

namespace {

// --- Known answers
// -------------------------------------------------------------------------------------------
// The node hashes of every perfect subtree of the reference leaves (kLeafInputs, support/merkle_vectors.hpp):
// transparency-dev/merkle testonly/constants.go NodeHashes, the data of the RFC 6962 reference implementation
// (google/certificate-transparency cpp/merkletree/merkle_tree_test.cc).
const std::vector<std::vector<std::string>> kNodeHashes = {
    {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"},
    {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"},
    {"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
    {"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"},
};

struct InclusionVector {
  std::uint64_t index, size;  // 0-based leaf index
  std::vector<const char*> path;
};

// transparency-dev/merkle proof/verify_test.go `inclusionProofs` (1-based leaf numbers there, 0-based here),
// plus (0, 2) and (1, 2) from testonly/reference_test.go TestRefInclusionProof.
const std::vector<InclusionVector> kInclusion = {
    {0, 1, {}},
    {0, 2, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"}},
    {1, 2, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"}},
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

struct ConsistencyVector {
  std::uint64_t old_size, new_size;
  std::vector<const char*> proof;
};

// transparency-dev/merkle proof/verify_test.go `consistencyProofs`.
const std::vector<ConsistencyVector> kConsistency = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

// transparency-dev/merkle proof/verify_test.go: sha256SomeHash.
const char* const kSomeHash = "abacaba000000000000000000000000000000000000000000060061e00123456";

Hash hx(const char* s) {
  Hash h{};
  REQUIRE(fooocus_audit::detail::parse_hash_hex(s, &h));
  return h;
}

std::vector<Hash> hashes(const std::vector<const char*>& v) {
  std::vector<Hash> out;
  for (const char* s : v) out.push_back(hx(s));
  return out;
}

std::vector<Hash> reference_leaves() {
  std::vector<Hash> out;
  for (const std::string& in : kLeafInputs) out.push_back(merkle::leaf_hash(in));
  return out;
}

// --- The recursive definitions of RFC 6962 §2.1, written out independently of the library
// --------------------

std::uint64_t split(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash mth(const std::vector<Hash>& d, std::uint64_t lo, std::uint64_t hi) {
  if (hi - lo == 1) return d[lo];
  const std::uint64_t k = split(hi - lo);
  return merkle::node_hash(mth(d, lo, lo + k), mth(d, lo + k, hi));
}

std::vector<Hash> ref_path(const std::vector<Hash>& d, std::uint64_t m, std::uint64_t lo, std::uint64_t hi) {
  if (hi - lo == 1) return {};
  const std::uint64_t k = split(hi - lo);
  std::vector<Hash> out;
  if (m < k) {
    out = ref_path(d, m, lo, lo + k);
    out.push_back(mth(d, lo + k, hi));
  } else {
    out = ref_path(d, m - k, lo + k, hi);
    out.push_back(mth(d, lo, lo + k));
  }
  return out;
}

std::vector<Hash> ref_subproof(const std::vector<Hash>& d, std::uint64_t m, std::uint64_t lo,
                               std::uint64_t hi, bool b) {
  const std::uint64_t n = hi - lo;
  if (m == n) return b ? std::vector<Hash>{} : std::vector<Hash>{mth(d, lo, hi)};
  const std::uint64_t k = split(n);
  std::vector<Hash> out;
  if (m <= k) {
    out = ref_subproof(d, m, lo, lo + k, b);
    out.push_back(mth(d, lo + k, hi));
  } else {
    out = ref_subproof(d, m - k, lo + k, hi, false);
    out.push_back(mth(d, lo, lo + k));
  }
  return out;
}


// Prefix roots: roots[n] = MTH of the first n leaves.
std::vector<Hash> prefix_roots(const std::vector<Hash>& leaves) {
  std::vector<Hash> roots;
  std::vector<Hash> prefix;
  roots.push_back(merkle::root_of(prefix));
  for (const Hash& h : leaves) {
    prefix.push_back(h);
    roots.push_back(merkle::root_of(prefix));
  }
  return roots;
}

// Every variant of a proof an attacker or a bug could produce from a good one.
std::vector<std::vector<Hash>> altered(const std::vector<Hash>& proof, const Hash& extra) {
  std::vector<std::vector<Hash>> out;
  for (std::size_t i = 0; i < proof.size(); ++i) {
    for (unsigned bit : {0u, 7u, 100u, 255u}) {  // one bit in the first and last byte and between
      std::vector<Hash> p = proof;
      p[i][bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      out.push_back(p);
    }
  }
  if (!proof.empty()) {
    out.emplace_back(proof.begin(), proof.end() - 1);  // truncated at the end
    out.emplace_back(proof.begin() + 1, proof.end());  // truncated at the front
  }
  std::vector<Hash> p = proof;
  p.push_back(extra);
  out.push_back(p);  // extended at the end
  p = proof;
  p.insert(p.begin(), extra);
  out.push_back(p);  // extended at the front
  if (!proof.empty()) {
    p = proof;
    p.push_back(proof.back());
    out.push_back(p);  // last hash repeated
  }
  if (proof.size() > 1) {
    p = proof;
    std::swap(p[0], p[1]);
    if (p != proof) out.push_back(p);  // two hashes swapped
  }
  return out;
}

// A NodeSource that checks what the generator asks for and can be told to fail.
class CheckingSource final : public merkle::NodeSource {
 public:
  explicit CheckingSource(const std::vector<Hash>& leaves) : inner_(leaves), size_(leaves.size()) {}
  std::uint64_t size() const override { return size_; }
  Result<Hash> node(unsigned level, std::uint64_t index) const override {
    ++reads;
    if (level >= 64 || index >= (size_ >> level)) ++out_of_range;
    if (fail) return Status(Code::io_error, "injected");
    return inner_.node(level, index);
  }
  mutable std::uint64_t reads = 0;
  mutable std::uint64_t out_of_range = 0;
  bool fail = false;

 private:
  merkle::LeafVectorSource inner_;
  std::uint64_t size_;
};

}  // namespace

TEST_CASE("proof: reference leaves give the reference node hashes and tree heads") {
  const std::vector<Hash> leaves = reference_leaves();
  merkle::LeafVectorSource src(leaves);
  for (unsigned level = 0; level < kNodeHashes.size(); ++level)
    for (std::uint64_t i = 0; i < kNodeHashes[level].size(); ++i) {
      INFO("level " << level << " index " << i);
      Result<Hash> h = src.node(level, i);
      REQUIRE(h.ok());
      CHECK(to_hex(h.value()) == kNodeHashes[level][i]);
    }
  for (std::uint64_t n = 0; n <= leaves.size(); ++n) {
    INFO("tree size " << n);
    Result<Hash> r = merkle::root_at(src, n);
    REQUIRE(r.ok());
    CHECK(to_hex(r.value()) == kRootHashes[n]);
  }
  CHECK(src.node(3, 1).status().code() == Code::invalid_argument);
  CHECK(src.node(64, 0).status().code() == Code::invalid_argument);
  CHECK(merkle::root_at(src, 9).status().code() == Code::invalid_argument);
}

TEST_CASE("proof: inclusion paths equal the RFC 6962 reference vectors and verify") {
  const std::vector<Hash> leaves = reference_leaves();
  for (const InclusionVector& v : kInclusion) {
    INFO("PATH(" << v.index << ", D[" << v.size << "])");
    const std::vector<Hash> want = hashes(v.path);
    Result<std::vector<Hash>> got = merkle::inclusion_proof(leaves, v.index, v.size);
    REQUIRE(got.ok());
    CHECK(got.value() == want);
    const Hash root = hx(kRootHashes[v.size]);
    CHECK(merkle::verify_inclusion(leaves[v.index], v.index, v.size, want, root));
    Result<Hash> r = merkle::root_from_inclusion(leaves[v.index], v.index, v.size, want);
    REQUIRE(r.ok());
    CHECK(r.value() == root);
    // transparency-dev/merkle corruptInclusionProof: wrong index, size, leaf, root; garbage before and after.
    const Hash some = hx(kSomeHash), empty = merkle::empty_root();
    CHECK_FALSE(merkle::verify_inclusion(leaves[v.index], v.index - 1, v.size, want, root));
    CHECK_FALSE(merkle::verify_inclusion(leaves[v.index], v.index + 1, v.size, want, root));
    CHECK_FALSE(merkle::verify_inclusion(leaves[v.index], v.index ^ 2, v.size, want, root));
    CHECK_FALSE(merkle::verify_inclusion(leaves[v.index], v.index, v.size * 2, want, root));
    CHECK_FALSE(merkle::verify_inclusion(leaves[v.index], v.index, v.size / 2, want, root));
    CHECK_FALSE(merkle::verify_inclusion(some, v.index, v.size, want, root));
    CHECK_FALSE(merkle::verify_inclusion(leaves[v.index], v.index, v.size, want, empty));
    CHECK_FALSE(merkle::verify_inclusion(leaves[v.index], v.index, v.size, want, some));
    for (const std::vector<Hash>& bad : altered(want, root))
      CHECK_FALSE(merkle::verify_inclusion(leaves[v.index], v.index, v.size, bad, root));
  }
}

TEST_CASE("proof: consistency proofs equal the RFC 6962 reference vectors and verify") {
  const std::vector<Hash> leaves = reference_leaves();
  for (const ConsistencyVector& v : kConsistency) {
    INFO("PROOF(" << v.old_size << ", D[" << v.new_size << "])");
    const std::vector<Hash> want = hashes(v.proof);
    Result<std::vector<Hash>> got = merkle::consistency_proof(leaves, v.old_size, v.new_size);
    REQUIRE(got.ok());
    CHECK(got.value() == want);
    const Hash r1 = hx(kRootHashes[v.old_size]), r2 = hx(kRootHashes[v.new_size]);
    CHECK(merkle::verify_consistency(v.old_size, v.new_size, r1, r2, want));
    if (want.empty()) continue;
    // transparency-dev/merkle corruptConsistencyProof.
    CHECK_FALSE(merkle::verify_consistency(v.old_size - 1, v.new_size, r1, r2, want));
    CHECK_FALSE(merkle::verify_consistency(v.old_size + 1, v.new_size, r1, r2, want));
    CHECK_FALSE(merkle::verify_consistency(v.old_size ^ 2, v.new_size, r1, r2, want));
    CHECK_FALSE(merkle::verify_consistency(v.old_size, v.new_size * 2, r1, r2, want));
    CHECK_FALSE(merkle::verify_consistency(v.old_size, v.new_size / 2, r1, r2, want));
    CHECK_FALSE(merkle::verify_consistency(v.old_size, v.new_size, hx(kSomeHash), r2, want));
    CHECK_FALSE(merkle::verify_consistency(v.old_size, v.new_size, r1, hx(kSomeHash), want));
    CHECK_FALSE(merkle::verify_consistency(v.old_size, v.new_size, r2, r1, want));
    CHECK_FALSE(merkle::verify_consistency(v.old_size, v.new_size, r1, r2, {}));
    for (const Hash& extra : {r1, r2, want[0]})
      for (const std::vector<Hash>& bad : altered(want, extra))
        CHECK_FALSE(merkle::verify_consistency(v.old_size, v.new_size, r1, r2, bad));
  }
}

TEST_CASE("proof: the edge cases of consistency (transparency-dev/merkle TestVerifyConsistency)") {
  const Hash a = hx(kSomeHash), e = merkle::empty_root();
  Hash b = a;
  b[31] ^= 1;
  CHECK_FALSE(merkle::verify_consistency(0, 0, a, b, {}));  // equal sizes, different roots
  CHECK_FALSE(merkle::verify_consistency(1, 1, a, b, {}));
  CHECK(merkle::verify_consistency(0, 0, a, a, {}));  // equal sizes and roots, no proof
  CHECK(merkle::verify_consistency(1, 1, b, b, {}));
  CHECK_FALSE(merkle::verify_consistency(1, 0, a, b, {}));  // time travel
  CHECK_FALSE(merkle::verify_consistency(2, 1, a, b, {}));
  CHECK_FALSE(merkle::verify_consistency(1, 2, a, b, {}));   // empty proof for distinct sizes
  CHECK_FALSE(merkle::verify_consistency(0, 0, e, e, {e}));  // equal sizes, proof not empty
  CHECK_FALSE(merkle::verify_consistency(1, 1, e, e, {e}));
  CHECK_FALSE(merkle::verify_consistency(0, 1, e, e, {e}));  // old size 0: the proof must be empty
  // Old size 0 with an empty proof: transparency-dev accepts any old root; we require the empty tree's root.
  CHECK(merkle::verify_consistency(0, 1, e, a, {}));
  CHECK(merkle::verify_consistency(0, 5, e, b, {}));
  CHECK_FALSE(merkle::verify_consistency(0, 1, a, b, {}));
}

TEST_CASE(
    "proof: generated inclusion proofs match RFC 6962 PATH and verify for every index and size up to 70") {
  const std::vector<Hash> leaves = random_leaves(70, 1);
  const std::vector<Hash> roots = prefix_roots(leaves);
  std::uint64_t checked = 0;
  for (std::uint64_t n = 1; n <= leaves.size(); ++n) {
    const std::vector<Hash> d(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(n));
    CheckingSource src(leaves);
    for (std::uint64_t i = 0; i < n; ++i) {
      INFO("PATH(" << i << ", D[" << n << "])");
      Result<std::vector<Hash>> p = merkle::inclusion_proof(src, i, n);
      REQUIRE(p.ok());
      REQUIRE(p.value() == ref_path(d, i, 0, n));
      CHECK(p.value().size() <= merkle::kMaxInclusionProof);
      REQUIRE(merkle::verify_inclusion(leaves[i], i, n, p.value(), roots[n]));
      ++checked;
    }
    CHECK(src.out_of_range == 0);  // only aligned perfect subtrees inside the tree were read
  }
  CHECK(checked == 70 * 71 / 2);
}

TEST_CASE(
    "proof: generated consistency proofs match RFC 6962 PROOF and verify for every pair of sizes up to 70") {
  const std::vector<Hash> leaves = random_leaves(70, 2);
  const std::vector<Hash> roots = prefix_roots(leaves);
  CheckingSource src(leaves);
  std::uint64_t checked = 0;
  for (std::uint64_t n = 0; n <= leaves.size(); ++n) {
    const std::vector<Hash> d(leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(n));
    for (std::uint64_t m = 0; m <= n; ++m) {
      INFO("PROOF(" << m << ", D[" << n << "])");
      Result<std::vector<Hash>> p = merkle::consistency_proof(src, m, n);
      REQUIRE(p.ok());
      if (m == 0 || m == n)
        REQUIRE(p.value().empty());
      else
        REQUIRE(p.value() == ref_subproof(d, m, 0, n, true));
      CHECK(p.value().size() <= merkle::kMaxConsistencyProof);
      REQUIRE(merkle::verify_consistency(m, n, roots[m], roots[n], p.value()));
      ++checked;
    }
  }
  CHECK(src.out_of_range == 0);
  CHECK(checked == 71 * 72 / 2);
}

TEST_CASE("proof: every altered inclusion proof, index or size is rejected (trees up to 70 leaves)") {
  const std::vector<Hash> leaves = random_leaves(70, 3);
  const std::vector<Hash> roots = prefix_roots(leaves);
  const Hash extra = random_leaves(1, 99)[0];
  for (std::uint64_t n = 1; n <= leaves.size(); ++n)
    for (std::uint64_t i = 0; i < n; ++i) {
      INFO("PATH(" << i << ", D[" << n << "])");
      const std::vector<Hash> p = merkle::inclusion_proof(leaves, i, n).value();
      for (const std::vector<Hash>& bad : altered(p, extra))
        REQUIRE_FALSE(merkle::verify_inclusion(leaves[i], i, n, bad, roots[n]));
      for (const std::vector<Hash>& bad : altered(p, roots[n]))
        REQUIRE_FALSE(merkle::verify_inclusion(leaves[i], i, n, bad, roots[n]));
      for (std::uint64_t j = 0; j < n + 2; ++j)  // another index, in the tree or just outside it
        if (j != i) REQUIRE_FALSE(merkle::verify_inclusion(leaves[i], j, n, p, roots[n]));
      // Another size, with that size's root: a size is bound to its root by the signed checkpoint.
      for (std::uint64_t s = 1; s <= leaves.size(); ++s)
        if (s != n) REQUIRE_FALSE(merkle::verify_inclusion(leaves[i], i, s, p, roots[s]));
      REQUIRE_FALSE(merkle::verify_inclusion(leaves[i], i, 0, p, roots[n]));
      REQUIRE_FALSE(merkle::verify_inclusion(leaves[(i + 1) % 70], i, n, p, roots[n]));
      Hash wrong_root = roots[n];
      wrong_root[0] ^= 0x80;
      REQUIRE_FALSE(merkle::verify_inclusion(leaves[i], i, n, p, wrong_root));
    }
}

TEST_CASE("proof: every altered consistency proof or size is rejected (trees up to 70 leaves)") {
  const std::vector<Hash> leaves = random_leaves(70, 4);
  const std::vector<Hash> roots = prefix_roots(leaves);
  const Hash extra = random_leaves(1, 98)[0];
  for (std::uint64_t n = 2; n <= leaves.size(); ++n)
    for (std::uint64_t m = 1; m < n; ++m) {
      INFO("PROOF(" << m << ", D[" << n << "])");
      const std::vector<Hash> p = merkle::consistency_proof(leaves, m, n).value();
      for (const std::vector<Hash>& bad : altered(p, extra))
        REQUIRE_FALSE(merkle::verify_consistency(m, n, roots[m], roots[n], bad));
      REQUIRE_FALSE(merkle::verify_consistency(m, n, roots[m], roots[n], {}));
      REQUIRE_FALSE(merkle::verify_consistency(m, n, roots[n], roots[m], p));
      Hash wrong = roots[m];
      wrong[31] ^= 1;
      REQUIRE_FALSE(merkle::verify_consistency(m, n, wrong, roots[n], p));
      wrong = roots[n];
      wrong[31] ^= 1;
      REQUIRE_FALSE(merkle::verify_consistency(m, n, roots[m], wrong, p));
      // Other sizes, each with its own root.
      for (std::uint64_t m2 = 1; m2 <= leaves.size(); ++m2)
        if (m2 != m && m2 < n) REQUIRE_FALSE(merkle::verify_consistency(m2, n, roots[m2], roots[n], p));
      for (std::uint64_t n2 = m + 1; n2 <= leaves.size(); ++n2)
        if (n2 != n) REQUIRE_FALSE(merkle::verify_consistency(m, n2, roots[m], roots[n2], p));
      REQUIRE_FALSE(merkle::verify_consistency(n, m, roots[n], roots[m], p));
    }
}

TEST_CASE("proof: verification survives hostile sizes and proof lengths") {
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  const Hash h = hx(kSomeHash);
  const std::vector<Hash> none, one{h}, full(merkle::kMaxInclusionProof, h),
      over(merkle::kMaxInclusionProof + 1, h), huge(1000, h), cfull(merkle::kMaxConsistencyProof, h),
      cover(merkle::kMaxConsistencyProof + 1, h);
  for (const std::vector<Hash>* p : {&none, &one, &full, &over, &huge, &cfull, &cover}) {
    for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{2}, kMax - 1, kMax}) {
      for (std::uint64_t index : {std::uint64_t{0}, std::uint64_t{1}, size, size - 1, kMax - 1, kMax}) {
        // Only a one-leaf tree whose root is the leaf itself verifies, with an empty proof.
        const bool valid = p->empty() && size == 1 && index == 0;
        CHECK(merkle::verify_inclusion(h, index, size, *p, h) == valid);
        (void)merkle::root_from_inclusion(h, index, size, *p);
      }
      for (std::uint64_t old_size : {std::uint64_t{0}, std::uint64_t{1}, size / 2, size - 1, size, kMax}) {
        // Only equal sizes with equal roots and no proof verify (h is not the empty tree's root).
        const bool valid = p->empty() && old_size == size;
        CHECK(merkle::verify_consistency(old_size, size, h, h, *p) == valid);
      }
    }
  }
  // The empty tree is a prefix of a 2^64-1 leaf tree; h is not the empty tree's root.
  CHECK_FALSE(merkle::verify_consistency(0, kMax, h, h, none));
  CHECK(merkle::verify_consistency(0, kMax, merkle::empty_root(), h, none));
  CHECK(merkle::root_from_inclusion(h, kMax, kMax, full).status().code() == Code::invalid_argument);
  CHECK(merkle::root_from_inclusion(h, 0, 1, over).status().code() == Code::invalid_argument);
  // The largest tree, 2^64-1 leaves: leaf 0 sits under the 2^63 subtree (63 siblings) and its right neighbour
  // (one more); the last leaf is the tree's one-leaf piece, with a sibling for each of the 63 larger pieces.
  CHECK(merkle::root_from_inclusion(h, 0, kMax, full).ok());
  CHECK(merkle::root_from_inclusion(h, kMax - 1, kMax, std::vector<Hash>(63, h)).ok());
  CHECK(merkle::root_from_inclusion(h, kMax - 1, kMax, full).status().code() == Code::invalid_argument);
  CHECK(merkle::root_from_inclusion(h, 0, kMax, std::vector<Hash>(63, h)).status().code() ==
        Code::invalid_argument);
}

TEST_CASE("proof: generation refuses impossible requests and hands back the source's errors") {
  const std::vector<Hash> leaves = random_leaves(10, 5);
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  CHECK(merkle::inclusion_proof(leaves, 10, 10).status().code() == Code::invalid_argument);
  CHECK(merkle::inclusion_proof(leaves, 0, 0).status().code() == Code::invalid_argument);
  CHECK(merkle::inclusion_proof(leaves, 0, 11).status().code() == Code::invalid_argument);
  CHECK(merkle::inclusion_proof(leaves, kMax, kMax).status().code() == Code::invalid_argument);
  CHECK(merkle::consistency_proof(leaves, 5, 4).status().code() == Code::invalid_argument);
  CHECK(merkle::consistency_proof(leaves, 5, 11).status().code() == Code::invalid_argument);
  CHECK(merkle::consistency_proof(leaves, kMax, kMax).status().code() == Code::invalid_argument);
  CHECK_FALSE(merkle::inclusion_proof(leaves, 10, 10).status().message().empty());
  CHECK(merkle::consistency_proof(leaves, 0, 10).value().empty());
  CHECK(merkle::consistency_proof(leaves, 10, 10).value().empty());
  CHECK(merkle::inclusion_proof(leaves, 0, 1).value().empty());

  CheckingSource src(leaves);
  src.fail = true;
  CHECK(merkle::inclusion_proof(src, 3, 10).status().code() == Code::io_error);
  CHECK(merkle::consistency_proof(src, 3, 10).status().code() == Code::io_error);
  CHECK(merkle::root_at(src, 10).status().code() == Code::io_error);
  CHECK(merkle::root_at(src, 0).value() == merkle::empty_root());
}

TEST_CASE("proof: a proof in a large tree reads O(log n) perfect subtrees") {
  // A source that answers any in-range node with a hash derived from its position: no leaves needed, so a
  // tree of 2^40 + 12345 leaves can be asked for proofs. Its nodes are not hashes of their children, so the
  // proofs cannot verify; their length is checked instead (root_from_inclusion refuses a wrong length).
  class Synthetic final : public merkle::NodeSource {
   public:
    std::uint64_t size() const override { return (std::uint64_t{1} << 40) + 12345; }
    Result<Hash> node(unsigned level, std::uint64_t index) const override {
      ++reads;
      if (level >= 64 || index >= (size() >> level)) return Status(Code::internal, "out of range");
      Hash h{};
      h[0] = static_cast<std::uint8_t>(level);
      for (int b = 0; b < 8; ++b) h[1 + b] = static_cast<std::uint8_t>(index >> (8 * b));
      return h;
    }
    mutable std::uint64_t reads = 0;
  } src;
  const std::uint64_t n = src.size();
  Result<Hash> root = merkle::root_at(src, n);
  REQUIRE(root.ok());
  for (std::uint64_t i : {std::uint64_t{0}, std::uint64_t{777777}, n - 12345, n - 1}) {
    src.reads = 0;
    Result<std::vector<Hash>> p = merkle::inclusion_proof(src, i, n);
    REQUIRE(p.ok());
    CHECK(src.reads <= 2 * 64);
    CHECK(merkle::root_from_inclusion(src.node(0, i).value(), i, n, p.value()).ok());
  }
  for (std::uint64_t m : {std::uint64_t{1}, std::uint64_t{1} << 39, n - 1, std::uint64_t{999999}}) {
    src.reads = 0;
    Result<std::vector<Hash>> p = merkle::consistency_proof(src, m, n);
    REQUIRE(p.ok());
    CHECK(src.reads <= 2 * 64);
    CHECK_FALSE(p.value().empty());
    CHECK(p.value().size() <= merkle::kMaxConsistencyProof);
  }
}
