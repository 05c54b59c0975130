# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: the package from this source tree, the stand-ins on sys.path, log readers, the CLI verifier.

Environment (set by ctest): FOOOCUS_AUDIT_LIBRARY (libfooocus_audit_c.so), FOOOCUS_AUDIT_CLI (fooocus-audit).
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_ROOT = os.path.dirname(HERE)
STANDINS = os.path.join(HERE, "standins")
# Where the stand-ins write their images (a fresh folder per run; subprocesses inherit it).
os.environ.setdefault("FA_STANDIN_OUTPUTS", tempfile.mkdtemp(prefix="fa-standin-outputs-"))
for p in (PACKAGE_ROOT, STANDINS):
    if p not in sys.path:
        sys.path.insert(0, p)


def segment_files(log_dir):
    return sorted(glob.glob(os.path.join(str(log_dir), "segment-*.jsonl")))


def read_records(log_dir):
    """Every record of a log directory, in order (docs/log-format.md §5.1)."""
    records = []
    for seg in segment_files(log_dir):
        with open(seg, "rb") as f:
            for line in f.read().split(b"\n"):
                if line:
                    records.append(json.loads(line))
    return records


def read_events(log_dir):
    return [r["event"] for r in read_records(log_dir)]


def log_bytes(log_dir):
    """All bytes under the log directory (segments, anchors, tree cache): what an attacker with the disk sees."""
    data = b""
    for root, _dirs, files in os.walk(str(log_dir)):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                data += f.read()
    return data


def cli_verify(log_dir):
    """`fooocus-audit verify DIR --json` → (exit code, report)."""
    cli = os.environ.get("FOOOCUS_AUDIT_CLI")
    if not cli:
        pytest.skip("FOOOCUS_AUDIT_CLI is not set (ctest sets it to the fooocus-audit tool)")
    proc = subprocess.run([cli, "verify", str(log_dir), "--json"], capture_output=True, text=True, timeout=60)
    report = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    return proc.returncode, report


@pytest.fixture
def log_dir(tmp_path):
    return tmp_path / "log"


@pytest.fixture
def logger(log_dir):
    from fooocus_audit import AuditLogger
    lg = AuditLogger(dir=log_dir, durability="none")
    yield lg
    lg.release()


def make_sanitizer():
    """A PromptSanitizer with a tenant key file (docs/privacy.md §5.1), or None when the library refuses it."""
    import tempfile
    from fooocus_audit import FooocusAuditError, PromptSanitizer
    key_dir = tempfile.mkdtemp(prefix="fa-tenant-key-")
    key_file = os.path.join(key_dir, "acme_corp.key")
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("fooocus-audit-tenant-key-v1 " + "5a" * 32 + "\n")
    for config in ({"tenant_id": "acme_corp", "tenant_key_file": key_file}, {"prompt_hash": "plain"}):
        try:
            return PromptSanitizer(config)
        except FooocusAuditError:
            continue
    return None


def pytest_sessionfinish(session, exitstatus):
    import shutil
    folder = os.environ.get("FA_STANDIN_OUTPUTS", "")
    if os.path.basename(folder).startswith("fa-standin-outputs-"):
        shutil.rmtree(folder, ignore_errors=True)
