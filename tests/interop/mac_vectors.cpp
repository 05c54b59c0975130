// SPDX-License-Identifier: Apache-2.0
// Prints the MAC key-schedule vectors computed by the library, in the format of tests/interop/mac_vectors.py,
// which runs this program and compares (ctest "mac_interop_vectors").

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "fooocus_audit/detail/crypto.hpp"
#include "fooocus_audit/detail/segment_store.hpp"
#include "fooocus_audit/mac_key.hpp"

namespace fa = fooocus_audit;
namespace mac = fooocus_audit::mac;
using fa::detail::to_hex;

namespace {

void print(const char* name, const std::string& value) { std::printf("%s %s\n", name, value.c_str()); }

int fail(const fa::Status& s) {
  std::fprintf(stderr, "mac_vectors: %s\n", s.to_string().c_str());
  return 2;
}

}  // namespace

int main() {
  mac::Key seed_bytes{};
  for (std::size_t i = 0; i < seed_bytes.size(); ++i) seed_bytes[i] = static_cast<std::uint8_t>(i);
  const mac::Seed seed = mac::Seed::from_bytes(seed_bytes);
  const std::string log_id(32, '0');

  std::string text = seed.text();
  print("seed_file", text.substr(0, text.size() - 1));
  const mac::EpochKey k0 = mac::EpochKey::initial(seed, log_id);
  const mac::EpochKey k1 = k0.next();
  print("K_0", to_hex(k0.bytes()));
  print("K_1", to_hex(k1.bytes()));
  mac::Key m0 = k0.record_key(), m1 = k1.record_key();
  print("M_0", to_hex(m0));
  print("M_1", to_hex(m1));
  const fa::Hash d = fa::detail::sha256(std::string_view("\0abc", 4));
  print("D", to_hex(d));
  print("tag_0", to_hex(mac::RecordMac(k0).tag(d)));
  print("tag_1", to_hex(mac::RecordMac(k1).tag(d)));

  // The state file, as the writer leaves it after converting the seed file and after one advance.
  const char* base = std::getenv("TMPDIR");
  std::string dir = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/fa_mac_vectors.XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return 2;
  const std::string path = dir + "/mac.key";
  int rc = 0;
  {
    fa::Status s = seed.save(path);
    fa::Result<mac::WriterState> w =
        s ? mac::WriterState::open(path, log_id) : fa::Result<mac::WriterState>(s);
    fa::Result<std::string> state0 = w ? fa::detail::read_file(path) : fa::Result<std::string>(w.status());
    if (state0) s = w->advance();
    fa::Result<std::string> state1 = state0 && s ? fa::detail::read_file(path) : fa::Result<std::string>(s);
    if (state0 && state1) {
      print("state_0_sha256", to_hex(fa::detail::sha256(*state0)));
      print("state_1_sha256", to_hex(fa::detail::sha256(*state1)));
    } else {
      rc = fail(!state0 ? state0.status() : state1.status());
    }
  }
  ::unlink(path.c_str());
  ::rmdir(dir.c_str());
  fa::detail::secure_wipe(text.data(), text.size());
  fa::detail::secure_wipe(m0.data(), m0.size());
  fa::detail::secure_wipe(m1.data(), m1.size());
  return rc;
}
