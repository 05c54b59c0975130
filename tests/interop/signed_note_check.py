#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""An independent verifier of C2SP signed checkpoints (c2sp.org/signed-note, c2sp.org/tlog-checkpoint), written
from the specifications with the Python standard library and the `openssl` command line only (no code shared
with the C++ library).

    signed_note_check.py NOTE_FILE VERIFIER_KEY [--openssl PATH]
        VERIFIER_KEY is "<name>+<8 hex key ID>+<base64(0x01 || public key)>", or @FILE holding it on one line.
        Recomputes the key ID, verifies the Ed25519 signature of that key with `openssl pkeyutl`, ignores
        signatures of other keys, and parses the note text as a checkpoint body.
        Prints "checkpoint <origin> <size> <root hex>" and exits 0 when accepted; prints "REJECTED: <reason>"
        on standard error and exits 1 otherwise; exits 2 on a usage or environment error.

    signed_note_check.py --self-test MAKE_NOTE DIR [--openssl PATH]
        Checks this script against Go's example note, runs MAKE_NOTE DIR (tests/interop/make_note.cpp), then
        this script on DIR/checkpoint.note (must be accepted, with the origin, size and root MAKE_NOTE printed)
        and on each DIR/tampered-*.note (each must be rejected with exit 1).
"""
import base64
import hashlib
import os
import re
import subprocess
import sys
import tempfile

MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100
EM_DASH_PREFIX = "\u2014 "
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


# From golang.org/x/mod/sumdb/note (package documentation and tests).
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_NOTE = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


class Rejected(Exception):
    pass


class UsageError(Exception):
    pass


def strict_b64decode(text):
    """RFC 4648 standard base64 with padding; only the canonical encoding of the bytes is accepted."""
    if len(text) % 4 != 0 or not re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", text):
        raise ValueError("not base64")
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("not canonical base64")
    return raw


def valid_key_name(name):
    return name != "" and "+" not in name and not any(ch.isspace() or ord(ch) < 0x20 for ch in name)


def parse_verifier_key(text):
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise Rejected("verifier key: expected <name>+<key id>+<key>")
    name, id_hex, key_b64 = parts
    if not valid_key_name(name):
        raise Rejected("verifier key: invalid name")
    if not re.fullmatch(r"[0-9a-f]{8}", id_hex):
        raise Rejected("verifier key: the key ID is not 8 lowercase hex digits")
    try:
        raw = strict_b64decode(key_b64)
    except ValueError as e:
        raise Rejected("verifier key: %s" % e)
    if len(raw) != 33 or raw[0] != 0x01:
        raise Rejected("verifier key: not an Ed25519 key (type 0x01, 32 bytes)")
    key_id = hashlib.sha256(name.encode("utf-8") + b"\n" + raw).digest()[:4]
    if key_id.hex() != id_hex:
        raise Rejected("verifier key: key ID %s does not match (computed %s)" % (id_hex, key_id.hex()))
    return name, int(id_hex, 16), raw[1:]


def parse_note(data):
    if len(data) > MAX_NOTE_BYTES:
        raise Rejected("note larger than %d bytes" % MAX_NOTE_BYTES)
    try:
        text_all = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Rejected("note is not valid UTF-8")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text_all):
        raise Rejected("note contains an ASCII control character other than newline")
    split = text_all.rfind("\n\n")
    if split < 0:
        raise Rejected("no blank line before the signatures")
    text, sig_block = text_all[: split + 1], text_all[split + 2 :]
    if sig_block == "" or not sig_block.endswith("\n"):
        raise Rejected("the signature block is empty or does not end in a newline")
    signatures = []
    for number, line in enumerate(sig_block[:-1].split("\n"), 1):
        if number > MAX_SIGNATURES:
            raise Rejected("more than %d signatures" % MAX_SIGNATURES)
        if not line.startswith(EM_DASH_PREFIX):
            raise Rejected("signature line %d does not start with an em dash and a space" % number)
        name, space, sig_b64 = line[len(EM_DASH_PREFIX) :].partition(" ")
        if not space or not valid_key_name(name):
            raise Rejected("signature line %d: bad key name" % number)
        try:
            raw = strict_b64decode(sig_b64)
        except ValueError as e:
            raise Rejected("signature line %d: %s" % (number, e))
        if len(raw) < 5:
            raise Rejected("signature line %d: shorter than 5 bytes" % number)
        signatures.append((name, int.from_bytes(raw[:4], "big"), raw[4:]))
    return text.encode("utf-8"), signatures


def openssl_verify(openssl, public_key, message, signature):
    pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        + base64.b64encode(ED25519_SPKI_PREFIX + public_key).decode("ascii")
        + "\n-----END PUBLIC KEY-----\n"
    )
    with tempfile.TemporaryDirectory(prefix="signed_note_check.") as tmp:
        paths = {n: os.path.join(tmp, n) for n in ("pub.pem", "msg", "sig")}
        for n, content in (("pub.pem", pem.encode("ascii")), ("msg", message), ("sig", signature)):
            with open(paths[n], "wb") as f:
                f.write(content)
        try:
            done = subprocess.run(
                [openssl, "pkeyutl", "-verify", "-pubin", "-inkey", paths["pub.pem"], "-rawin",
                 "-in", paths["msg"], "-sigfile", paths["sig"]],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
            )
        except OSError as e:
            raise UsageError("cannot run %s: %s" % (openssl, e))
    return done.returncode == 0 and b"Signature Verified Successfully" in done.stdout


def parse_checkpoint(text):
    lines = text.decode("utf-8").split("\n")
    if lines[-1] != "":
        raise Rejected("checkpoint: the body does not end in a newline")
    lines = lines[:-1]
    if len(lines) < 3:
        raise Rejected("checkpoint: fewer than 3 lines")
    origin, size_text, root_b64 = lines[:3]
    if origin == "":
        raise Rejected("checkpoint: empty origin")
    if not re.fullmatch(r"0|[1-9][0-9]*", size_text) or int(size_text) >= 1 << 64:
        raise Rejected("checkpoint: bad tree size %r" % size_text)
    try:
        root = strict_b64decode(root_b64)
    except ValueError as e:
        raise Rejected("checkpoint: root hash: %s" % e)
    if len(root) != 32:
        raise Rejected("checkpoint: the root hash has %d bytes, not 32" % len(root))
    if any(ext == "" for ext in lines[3:]):
        raise Rejected("checkpoint: empty extension line")
    return origin, int(size_text), root


def check(note_path, key_text, openssl):
    name, key_id, public_key = parse_verifier_key(key_text)
    with open(note_path, "rb") as f:
        data = f.read(MAX_NOTE_BYTES + 1)
    text, signatures = parse_note(data)
    verified = 0
    for sig_name, sig_id, sig in signatures:
        if sig_name != name or sig_id != key_id:
            print("ignored: signature of unknown key %s+%08x" % (sig_name, sig_id), file=sys.stderr)
            continue
        if len(sig) != 64 or not openssl_verify(openssl, public_key, text, sig):
            raise Rejected("invalid signature by %s+%08x" % (name, key_id))
        verified += 1
    if verified == 0:
        raise Rejected("no signature by %s+%08x" % (name, key_id))
    return parse_checkpoint(text)


def main_check(note_path, key_arg, openssl):
    if key_arg.startswith("@"):
        with open(key_arg[1:], "r", encoding="utf-8") as f:
            key_arg = f.read()
        if key_arg.endswith("\n"):
            key_arg = key_arg[:-1]
    try:
        origin, size, root = check(note_path, key_arg, openssl)
    except Rejected as e:
        print("REJECTED: %s" % e, file=sys.stderr)
        return 1
    print("checkpoint %s %d %s" % (origin, size, root.hex()))
    return 0


def main_self_test(make_note, directory, openssl):
    made = subprocess.run([make_note, directory], stdout=subprocess.PIPE, timeout=120)
    if made.returncode != 0:
        print("self-test: %s failed with exit %d" % (make_note, made.returncode), file=sys.stderr)
        return 1
    expected = made.stdout.decode("utf-8").strip()
    key_arg = "@" + os.path.join(directory, "verifier.key")

    def run(note_name):
        done = subprocess.run(
            [sys.executable, os.path.abspath(__file__), os.path.join(directory, note_name), key_arg,
             "--openssl", openssl],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
        )
        sys.stderr.write(done.stderr.decode("utf-8", errors="replace"))
        return done.returncode, done.stdout.decode("utf-8").strip()

    failures = 0
    # The script itself against a third implementation: Go's golang.org/x/mod/sumdb/note example.
    go_name, go_id, go_key = parse_verifier_key(GO_VERIFIER_KEY)
    go_text, go_sigs = parse_note(GO_NOTE.encode("utf-8"))
    if (go_name, go_id) != go_sigs[0][:2] or not openssl_verify(openssl, go_key, go_text, go_sigs[0][2]):
        print("self-test: Go's example note does not verify", file=sys.stderr)
        failures += 1
    if openssl_verify(openssl, go_key, go_text.replace(b"answer", b"ANSWER"), go_sigs[0][2]):
        print("self-test: a changed Go example note verifies", file=sys.stderr)
        failures += 1
    code, out = run("checkpoint.note")
    if code != 0 or out != "checkpoint " + expected:
        print("self-test: checkpoint.note: exit %d, %r (expected exit 0, %r)" % (code, out, "checkpoint " + expected),
              file=sys.stderr)
        failures += 1
    else:
        print("accepted checkpoint.note: %s" % out)
    for name in ("tampered-text.note", "tampered-signature.note", "tampered-keyid.note"):
        code, out = run(name)
        if code != 1:
            print("self-test: %s: exit %d (expected 1, rejected)" % (name, code), file=sys.stderr)
            failures += 1
        else:
            print("rejected %s" % name)
    print("self-test: %s" % ("OK" if failures == 0 else "%d FAILED" % failures))
    return 0 if failures == 0 else 1


def main(argv):
    args = list(argv)
    openssl = "openssl"
    if "--openssl" in args:
        i = args.index("--openssl")
        if i + 1 >= len(args):
            raise UsageError("--openssl needs a path")
        openssl = args[i + 1]
        del args[i : i + 2]
    if len(args) == 3 and args[0] == "--self-test":
        return main_self_test(args[1], args[2], openssl)
    if len(args) == 2 and not args[0].startswith("--"):
        return main_check(args[0], args[1], openssl)
    raise UsageError(__doc__)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (UsageError, OSError) as e:
        print("signed_note_check: %s" % e, file=sys.stderr)
        sys.exit(2)
