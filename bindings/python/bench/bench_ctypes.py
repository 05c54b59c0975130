# SPDX-License-Identifier: Apache-2.0
"""Python → ctypes → AuditLogger, against a pure-Python hash-chain logger of the kind the seed article shows,
in one run on one machine.

    FOOOCUS_AUDIT_LIBRARY=build/libfooocus_audit_c.so python3 bindings/python/bench/bench_ctypes.py [N] [ROUNDS]

Both log the seed article's §2.2 example event (docs/events.md §4) N times per round, as a dict built per call,
into a fresh directory, and count until every event is written. The AuditLogger writes on a background
thread: its count ends when flush() returns, which under durability "none" means every record has been passed
to write(2), as the peer's file.write + flush does per line; its close() (which also fdatasyncs the log, a cost
the peer never pays) runs after the timed region. The peer, per event: json.dumps(record, sort_keys) +
hashlib.sha256 + append one line + rewrite a head file, no fsync (and unchanged). The AuditLogger runs twice per
round: as AuditLogger.log(dict) does by default (marshal.dumps(event, 4) + fa_logger_log_marshal), and with the
JSON path forced (json.dumps + fa_logger_log, what it does when marshal is unavailable). The three runs of a
round are interleaved. Reported: the median of ROUNDS rounds for each, and the ratios.
"""
import copy
import hashlib
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from fooocus_audit import AuditLogger  # noqa: E402
from fooocus_audit import logger as logger_module  # noqa: E402

# The seed article's §2.2 example event (docs/events.md §4), shared with the tests.
SEED_EVENT_PATH = pathlib.Path(__file__).resolve().parents[3] / "tests" / "data" / "seed_event.json"
EVENT = json.loads(SEED_EVENT_PATH.read_text(encoding="utf-8"))


class PurePythonChainLogger:
    """The seed article's kind of logger: each record hashes the previous one; a head file holds the last hash."""

    def __init__(self, folder):
        self.file = open(os.path.join(folder, "audit.jsonl"), "a", encoding="utf-8")
        self.head_path = os.path.join(folder, "head")
        self.prev = "0" * 64
        self.seq = 0

    def log(self, event):
        record = {"seq": self.seq, "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "prev": self.prev,
                  "event": event}
        line = json.dumps(record, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(line.encode("utf-8")).hexdigest()
        self.file.write(line + "\n")
        self.file.flush()
        with open(self.head_path, "w", encoding="utf-8") as head:
            head.write(f"{self.seq} {digest}\n")
        self.prev = digest
        self.seq += 1

    def close(self):
        self.file.close()


def run(make, n):
    folder = tempfile.mkdtemp(prefix="fa-bench-")
    try:
        logger = make(folder)
        events = [copy.deepcopy(EVENT) for _ in range(min(n, 1000))]
        start = time.perf_counter()
        for i in range(n):
            logger.log(events[i % len(events)])
        if isinstance(logger, AuditLogger):
            logger.flush()  # every event written with write(2): the peer's state after its last file.flush()
        elapsed = time.perf_counter() - start
        logger.close()  # the AuditLogger's fdatasync: outside the timed region (the peer has none)
        return n / elapsed
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def make_ours(marshal_path):
    def make(folder):
        # The probe result is process-wide: set it for this run (True is what the probe finds with this library).
        logger_module._marshal_usable = marshal_path and logger_module._probe(logger_module._native_lib())
        if marshal_path and not logger_module._marshal_usable:
            sys.exit("the library does not take marshal events (fa_logger_log_marshal missing or probe failed)")
        return AuditLogger(dir=os.path.join(folder, "log"), durability="none")
    return make


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    marshal_runs, json_runs, peer = [], [], []
    for _ in range(rounds):
        marshal_runs.append(run(make_ours(True), n))
        json_runs.append(run(make_ours(False), n))
        peer.append(run(PurePythonChainLogger, n))
    m, j, p = statistics.median(marshal_runs), statistics.median(json_runs), statistics.median(peer)

    def rounds_of(xs):
        return ", ".join(f"{x:,.0f}" for x in xs)

    print(f"events per round: {n}, rounds: {rounds}")
    print(f"ctypes AuditLogger.log(dict), marshal: {m:12,.0f} events/s  (rounds: {rounds_of(marshal_runs)})")
    print(f"ctypes AuditLogger.log(dict), JSON:    {j:12,.0f} events/s  (rounds: {rounds_of(json_runs)})")
    print(f"pure-Python hash chain + head file:    {p:12,.0f} events/s  (rounds: {rounds_of(peer)})")
    print(f"ratio: marshal {m / p:.1f}x, JSON {j / p:.1f}x")


if __name__ == "__main__":
    main()
