#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Known-answer vectors of the MAC key schedule (docs/log-format.md §9.1, §10.6), computed independently of
the C++ library with the Python standard library only.

    mac_vectors.py                  print the vectors, one "name hex" per line
    mac_vectors.py --check HELPER   run HELPER (tests/interop/mac_vectors.cpp) and compare its output
"""
import hashlib
import hmac
import subprocess
import sys

SEED = bytes(range(32))
LOG_ID = "0" * 32


def h(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def slot(epoch, log_id, key):
    body = b"FAMACST1" + epoch.to_bytes(8, "big") + bytes.fromhex(log_id) + key + bytes(32)
    return body + hashlib.sha256(body).digest()


def vectors():
    k0 = h(SEED, b"fooocus-audit/v1/mac/init" + b"\x00" + LOG_ID.encode("ascii"))
    k1 = h(k0, b"fooocus-audit/v1/mac/evolve")
    m0 = h(k0, b"fooocus-audit/v1/mac/record")
    m1 = h(k1, b"fooocus-audit/v1/mac/record")
    d = hashlib.sha256(b"\x00abc").digest()
    state0 = slot(0, LOG_ID, k0) + bytes(128)  # the seed file just converted
    state1 = bytes(128) + slot(1, LOG_ID, k1)  # after one advance
    return [
        ("seed_file", "fooocus-audit-mac-seed-v1 " + SEED.hex()),  # + LF
        ("K_0", k0.hex()),
        ("K_1", k1.hex()),
        ("M_0", m0.hex()),
        ("M_1", m1.hex()),
        ("D", d.hex()),
        ("tag_0", h(m0, d).hex()),
        ("tag_1", h(m1, d).hex()),
        ("state_0_sha256", hashlib.sha256(state0).hexdigest()),
        ("state_1_sha256", hashlib.sha256(state1).hexdigest()),
    ]


def main(argv):
    expected = "".join(f"{name} {value}\n" for name, value in vectors())
    if len(argv) == 1:
        sys.stdout.write(expected)
        return 0
    if len(argv) == 3 and argv[1] == "--check":
        got = subprocess.run([argv[2]], check=True, capture_output=True, text=True).stdout
        if got == expected:
            print(f"mac vectors: {len(expected.splitlines())} match")
            return 0
        print("mac vectors differ\n--- python\n" + expected + "--- C++\n" + got, file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
