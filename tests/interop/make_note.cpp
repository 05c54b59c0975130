// SPDX-License-Identifier: Apache-2.0
// make_note DIR: writes what tests/interop/signed_note_check.py verifies independently of this library:
//   DIR/verifier.key             the log key's verifier key string (save_verifier_key)
//   DIR/checkpoint.note          a checkpoint of a 10-record log signed by a LocalSigner, cosigned by a witness
//                                key the verifier does not know (it must ignore that signature)
//   DIR/tampered-text.note       the same note with the tree size changed
//   DIR/tampered-signature.note  the same note with one byte of the log's signature changed
//   DIR/tampered-keyid.note      the same note with the log signature's key ID changed
// and prints "<origin> <size> <root hex>" of the checkpoint on standard output. Exit 0, or 1 with a message.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "fooocus_audit/merkle.hpp"
#include "fooocus_audit/record.hpp"
#include "fooocus_audit/signed_note.hpp"
#include "fooocus_audit/signer.hpp"

namespace fa = fooocus_audit;
namespace note = fooocus_audit::note;

namespace {

int fail(const std::string& what) {
  std::fprintf(stderr, "make_note: %s\n", what.c_str());
  return 1;
}

bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  return static_cast<bool>(out.flush());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: make_note DIR");
  const std::string dir = argv[1];
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return fail("cannot create " + dir);
  for (const char* name : {"verifier.key", "checkpoint.note", "tampered-text.note", "tampered-signature.note",
                           "tampered-keyid.note"})
    ::unlink((dir + "/" + name).c_str());

  auto key = note::SigningKey::generate("interop.example/audit");
  auto witness = note::SigningKey::generate("witness.example/w1");
  if (!key.ok() || !witness.ok()) return fail("cannot generate keys");
  const note::VerifierKey vk = key->verifier();

  std::vector<fa::Hash> leaves;
  for (int i = 0; i < 10; ++i) leaves.push_back(fa::merkle::leaf_hash("record " + std::to_string(i)));
  fa::CheckpointRequest request;
  request.origin = note::checkpoint_origin(vk.name, fa::record::new_log_id());
  request.leaves = leaves;
  request.size = leaves.size();
  request.root = fa::merkle::root_of(leaves);

  fa::LocalSigner signer(std::move(key).value());
  auto signed_note = signer.sign_checkpoint(request);
  if (!signed_note.ok()) return fail(signed_note.status().to_string());
  auto cosigned = note::add_signature(signed_note.value(), witness.value());
  if (!cosigned.ok()) return fail(cosigned.status().to_string());
  const std::string good = cosigned.value();

  auto parsed = note::parse_note(good);
  if (!parsed.ok()) return fail(parsed.status().to_string());

  std::string tampered_text = good;
  const std::size_t size_at = tampered_text.find("\n10\n");
  if (size_at == std::string::npos) return fail("no size line");
  tampered_text.replace(size_at, 4, "\n11\n");

  note::Note bad_sig = parsed.value();
  bad_sig.signatures.at(0).signature[7] ^= 0x20;
  note::Note bad_id = parsed.value();
  bad_id.signatures.at(0).id ^= 0x00010000u;

  const fa::Status saved = note::save_verifier_key(dir + "/verifier.key", vk);
  if (!saved.ok()) return fail(saved.to_string());
  if (!write_file(dir + "/checkpoint.note", good) || !write_file(dir + "/tampered-text.note", tampered_text) ||
      !write_file(dir + "/tampered-signature.note", note::format_note(bad_sig)) ||
      !write_file(dir + "/tampered-keyid.note", note::format_note(bad_id)))
    return fail("cannot write the notes in " + dir);

  std::printf("%s %llu %s\n", request.origin.c_str(), static_cast<unsigned long long>(request.size),
              fa::detail::to_hex(request.root).c_str());
  return 0;
}
