# SPDX-License-Identifier: Apache-2.0
"""The ctypes package: discovery, prototypes, the exception hierarchy and every class."""
import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

import fooocus_audit
from fooocus_audit import (AuditLogger, ChainVerifier, Closed, FooocusAuditError, GenerationTracker,
                           InvalidArgument, InvalidHandle, Locked, ModelVersionRegistry, TooLarge, errors)
from fooocus_audit import _native
from fooocus_audit import logger as logger_module

from conftest import PACKAGE_ROOT, make_sanitizer, read_events

LIB = os.environ.get(_native.ENV_VAR) or _native.library_path()


# --- discovery and prototypes -------------------------------------------------------------------------------------

def test_versions_and_path():
    assert fooocus_audit.abi_version() >= _native.REQUIRED_ABI_VERSION
    assert fooocus_audit.library_version().count(".") == 2
    assert fooocus_audit.library_path() == LIB


def test_discovery_env_var_wins(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "libfooocus_audit_c.so.9").write_bytes(b"not a library")
    assert _native.candidates({_native.ENV_VAR: LIB}, str(pkg)) == [LIB]
    lib, path = _native.find_and_load({_native.ENV_VAR: LIB}, str(pkg))
    assert path == LIB


def test_discovery_wrong_env_path_lists_what_was_tried(tmp_path):
    wrong = str(tmp_path / "nowhere" / "libfooocus_audit_c.so")
    with pytest.raises(_native.LibraryNotFoundError) as e:
        _native.find_and_load({_native.ENV_VAR: wrong}, str(tmp_path))
    assert [c for c, _ in e.value.tried] == [wrong]  # nothing else is tried when the variable is set
    assert wrong in str(e.value) and _native.ENV_VAR in str(e.value)
    assert isinstance(e.value, ImportError)


def test_discovery_order_package_folder_then_system(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    shutil.copy(LIB, pkg / "libfooocus_audit_c.so.0")
    cands = _native.candidates({}, str(pkg))
    assert cands[0] == str(pkg / "libfooocus_audit_c.so.0")
    assert cands[-3:] == ["libfooocus_audit_c.so.1", "libfooocus_audit_c.so.0", "libfooocus_audit_c.so"]
    lib, path = _native.find_and_load({}, str(pkg))
    assert path == str(pkg / "libfooocus_audit_c.so.0")
    _native.bind(lib, path)


def test_discovery_failure_lists_every_candidate(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "libfooocus_audit_c.so").write_bytes(b"\x7fELF broken")
    env = {}
    cands = _native.candidates(env, str(pkg))
    # Make the system names fail too, whatever this machine has installed.
    import ctypes as _ct
    real_cdll = _ct.CDLL

    def refuse_system(name, *a, **kw):
        if not os.path.isabs(name):
            raise OSError(f"{name}: cannot open shared object file")
        return real_cdll(name, *a, **kw)

    _native.ctypes.CDLL = refuse_system
    try:
        with pytest.raises(_native.LibraryNotFoundError) as e:
            _native.find_and_load(env, str(pkg))
    finally:
        _native.ctypes.CDLL = real_cdll
    assert [c for c, _ in e.value.tried] == cands
    for c in cands:
        assert c in str(e.value)


def test_import_error_from_a_fresh_interpreter(tmp_path):
    wrong = str(tmp_path / "missing.so")
    env = dict(os.environ, **{_native.ENV_VAR: wrong, "PYTHONPATH": PACKAGE_ROOT})
    proc = subprocess.run([sys.executable, "-c", "import fooocus_audit"], capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=60)
    assert proc.returncode != 0
    assert "LibraryNotFoundError" in proc.stderr and wrong in proc.stderr


def test_missing_symbol_is_a_version_mismatch():
    with pytest.raises(_native.LibraryVersionError) as e:
        _native.bind(ctypes.CDLL(None), "the python executable")  # has none of the fa_ symbols
    assert "fa_logger_open" in str(e.value) and "older" in str(e.value)


def test_prototype_table_matches_the_header():
    header = os.path.join(PACKAGE_ROOT, "..", "..", "include", "fooocus_audit", "fooocus_audit.h")
    if not os.path.exists(header):
        pytest.skip("header not next to the bindings")
    import re
    with open(header, encoding="utf-8") as f:
        declared = set(re.findall(r"FA_EXPORT[^;(]*?\b(fa_[a-z_]+)\s*\(", f.read()))
    assert declared == {name for name, *_ in _native.PROTOTYPES}


# --- exceptions ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code,cls,extra", [
    (1, errors.InvalidArgument, ValueError), (2, errors.LogIOError, OSError), (3, errors.Locked, None),
    (4, errors.Corruption, None), (5, errors.Closed, None), (6, errors.Dropped, None),
    (7, errors.TooLarge, ValueError), (8, errors.NotFound, LookupError), (9, errors.InternalError, None),
    (10, errors.InvalidHandle, None), (11, errors.NoMemory, MemoryError)])
def test_every_status_code_maps_to_its_exception(code, cls, extra):
    lib = _native.load()
    name = lib.fa_strerror(code).decode()
    e = errors.error_for(code, "msg", name)
    assert type(e) is cls and isinstance(e, FooocusAuditError)
    assert e.code == code and e.code_name == name == errors.CODE_NAMES[code] and e.message == "msg"
    if extra is not None:
        assert isinstance(e, extra)


def test_unknown_code_gives_the_base_class():
    e = errors.error_for(99, "x", _native.load().fa_strerror(99).decode())
    assert type(e) is FooocusAuditError and e.code == 99 and e.code_name == "unknown"


# --- AuditLogger --------------------------------------------------------------------------------------------------

def test_logger_logs_dict_str_and_bytes(logger, log_dir):
    logger.log({"event_type": "test.dict", "n": 1, "text": "héllo ✓"})
    logger.log('{"event_type":"test.str","n":2}')
    logger.log(b'{"event_type":"test.bytes","n":3}')
    logger.flush()
    stats = logger.stats()
    assert stats["accepted"] == 3
    info = logger.info()
    assert len(info["log_id"]) == 32 and os.path.samefile(info["dir"], log_dir)
    assert isinstance(logger.head(), dict)
    logger.close()
    events = [e for e in read_events(log_dir) if not e["event_type"].startswith("log.")]
    assert [e["event_type"] for e in events] == ["test.dict", "test.str", "test.bytes"]
    assert events[0]["text"] == "héllo ✓"


@pytest.mark.parametrize("bad,where", [
    ({"no_event_type": 1}, "c"),                       # schema: event_type missing
    ({"event_type": "generation.failed", "request_id": "r"}, "c"),  # required error_details missing
    ('[1, 2, 3]', "c"),                               # an array where an object is expected
    ('{"event_type": "test.x", ', "c"),               # invalid JSON
    (b'{"event_type": "test.\xff"}', "c"),            # invalid UTF-8
    ("[" * 100000 + "]" * 100000, "c"),                # 100k levels of nesting
    ({"event_type": "test.x", "v": object()}, "py"),   # not JSON-serializable
    ({"event_type": "test.x", "v": float("nan")}, "py"),
    ("{\"event_type\": \"test.\ud800\"}", "py"),        # lone surrogate
])
def test_logger_refuses_bad_input_and_stays_usable(logger, log_dir, bad, where):
    logger.log({"event_type": "test.before"})
    with pytest.raises(InvalidArgument) as e:
        logger.log(bad)
    assert e.value.code == 1 and e.value.message
    logger.log({"event_type": "test.after"})
    logger.close()
    types = [ev["event_type"] for ev in read_events(log_dir) if ev["event_type"].startswith("test.")]
    assert types == ["test.before", "test.after"]


def test_logger_message_never_repeats_the_value(logger):
    secret = "sk-proj-4eC39HqLyjWDarjtT1zdp7dc"
    with pytest.raises(InvalidArgument) as e:
        logger.log({"event_type": "apikey.used", "key_id": secret})
    assert secret not in str(e.value)


def test_number_overflow_message_never_quotes_the_number(logger):
    with pytest.raises(InvalidArgument) as e:
        logger.log('{"event_type": "test.big", "n": 41111111111111111e400}')
    assert "41111" not in str(e.value) and "out of the range of a double" in str(e.value)


def test_64_mb_string_is_too_large_and_nothing_is_lost(logger, log_dir):
    logger.log({"event_type": "test.before"})
    with pytest.raises(TooLarge) as e:
        logger.log({"event_type": "test.big", "blob": "a" * (64 * 1024 * 1024)})
    assert e.value.code == 7
    logger.log({"event_type": "test.after"})
    logger.close()
    types = [ev["event_type"] for ev in read_events(log_dir) if ev["event_type"].startswith("test.")]
    assert types == ["test.before", "test.after"]


def test_path_objects_are_accepted_wherever_a_path_goes(tmp_path):
    # pathlib.Path in any configuration member (not only dir=), also inside lists.
    with AuditLogger(dir=tmp_path / "l", anchor_path=tmp_path / "head.anchor") as lg:
        lg.log({"event_type": "test.path"})
    assert (tmp_path / "head.anchor").exists()
    with pytest.raises(FooocusAuditError) as e:  # the path reached the library: the file is missing
        ChainVerifier(trusted_key_paths=[tmp_path / "missing.pub"])
    assert "trusted_key_paths[0]" in str(e.value)
    with pytest.raises(InvalidArgument, match="Object of type object"):
        AuditLogger(dir=tmp_path / "l2", anchor_path=object())


def test_unknown_config_member_is_refused(tmp_path):
    with pytest.raises(InvalidArgument):
        AuditLogger(dir=tmp_path / "l", no_such_option=True)


def test_closed_logger_then_released_handle(log_dir):
    lg = AuditLogger(dir=log_dir)
    lg.log({"event_type": "test.one"})
    lg.close()
    assert lg.closed
    with pytest.raises(Closed):
        lg.log({"event_type": "test.two"})
    lg.close()  # idempotent
    lg.release()
    with pytest.raises(InvalidHandle):
        lg.log({"event_type": "test.three"})
    with pytest.raises(InvalidHandle):
        lg.stats()
    lg.release()  # idempotent


def test_context_manager_releases_the_directory(log_dir):
    with AuditLogger(dir=log_dir, durability="always") as lg:
        lg.log({"event_type": "test.ctx"})
        with pytest.raises(Locked):
            AuditLogger(dir=log_dir)
    assert lg.closed
    with AuditLogger(dir=log_dir) as again:  # the lock was released
        again.log({"event_type": "test.ctx2"})
    assert [e["event_type"] for e in read_events(log_dir) if e["event_type"].startswith("test.")] == \
        ["test.ctx", "test.ctx2"]


def test_threads_log_concurrently(log_dir):
    threads, per_thread = 8, 250
    with AuditLogger(dir=log_dir, durability="group_commit") as lg:
        errors_seen = []

        def work(t):
            try:
                for i in range(per_thread):
                    lg.log({"event_type": "test.thread", "t": t, "i": i})
            except Exception as e:  # noqa: BLE001
                errors_seen.append(e)

        ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        lg.flush()
        assert not errors_seen
        assert lg.stats()["accepted"] == threads * per_thread
    events = [e for e in read_events(log_dir) if e["event_type"] == "test.thread"]
    assert len(events) == threads * per_thread
    for t in range(threads):  # each thread's events in its own order
        assert [e["i"] for e in events if e["t"] == t] == list(range(per_thread))
    with ChainVerifier() as v:
        assert v.verify(log_dir).intact


def test_close_waits_for_calls_in_flight(log_dir):
    lg = AuditLogger(dir=log_dir, durability="none")
    stop = threading.Event()
    failures = []

    def spam():
        while not stop.is_set():
            try:
                lg.log({"event_type": "test.spam"})
            except (Closed, InvalidHandle):
                return
            except Exception as e:  # noqa: BLE001
                failures.append(e)
                return

    ts = [threading.Thread(target=spam) for _ in range(4)]
    for t in ts:
        t.start()
    lg.release()  # must not crash while other threads are inside fa_logger_log
    stop.set()
    for t in ts:
        t.join()
    assert not failures


def test_release_waits_for_a_marshal_call_in_flight(log_dir, monkeypatch):
    # AuditLogger.log counts its marshal call without the handle's lock (Handle._leave_fast): a release started
    # while the call is inside the library must wait for it, and later calls must not reach the freed handle.
    lg = AuditLogger(dir=log_dir, durability="none")
    real = lg._lib.fa_logger_log_marshal_status
    released = threading.Event()
    seen = []

    def in_flight(ptr, data, n):
        t = threading.Thread(target=lambda: (lg.release(), released.set()))
        t.start()
        seen.append(released.wait(0.2))  # still waiting: this call is in flight
        seen.append(real(ptr, data, n))
        seen.append(t)
        return seen[1]

    monkeypatch.setattr(lg._lib, "fa_logger_log_marshal_status", in_flight)
    if not logger_module.marshal_usable(lg._lib):
        pytest.skip("the library does not take marshal events")
    lg.log({"event_type": "test.in_flight"})
    seen[2].join()
    assert seen[:2] == [False, errors.OK] and released.is_set()
    with pytest.raises(InvalidHandle):
        lg.log({"event_type": "test.after_release"})
    events = [e["event_type"] for e in read_events(log_dir)]
    assert events.count("test.in_flight") == 1 and "test.after_release" not in events


# --- GenerationTracker ------------------------------------------------------------------------------------------------

def _png(path, w=3, h=2):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "standins"))
    import png
    png.write_png(str(path), w, h, (1, 2, 3))
    return str(path)


def test_tracker_lifecycle(logger, log_dir, tmp_path):
    out = _png(tmp_path / "out.png", 4, 3)
    with GenerationTracker(logger) as tr:
        tr.submitted("req_1", {"user_id": "alice", "request": {"num_images": 1, "seed": 7}})
        assert tr.state("req_1") == "submitted"
        tr.queued("req_1", 0)
        tr.started("req_1", "gpu-0")
        tr.completed("req_1", [out])
        tr.webhook("req_1", 1, 200, True, url_host="hooks.example.com")
        assert tr.state("never") is None
        assert tr.stats()["events"] >= 5
    logger.close()
    events = [e for e in read_events(log_dir) if e.get("request_id") == "req_1"]
    types = [e["event_type"] for e in events]
    for t in ("generation.submitted", "generation.queued", "generation.started", "generation.completed",
              "webhook.delivered"):
        assert t in types
    completed = next(e for e in events if e["event_type"] == "generation.completed")
    with open(out, "rb") as f:
        digest = "sha256:" + hashlib.sha256(f.read()).hexdigest()
    assert completed["outputs"][0]["sha256"] == digest
    assert completed["outputs"][0]["width"] == 4 and completed["outputs"][0]["height"] == 3


def test_tracker_after_logger_close_and_after_destroy(log_dir):
    lg = AuditLogger(dir=log_dir)
    tr = GenerationTracker(lg)
    lg.close()
    with pytest.raises(Closed):
        tr.submitted("req_x", {})
    tr.close()
    with pytest.raises(InvalidHandle):
        tr.queued("req_x", 1)
    lg.release()


def test_tracker_failed_cancelled_and_bad_input(logger, log_dir):
    tr = GenerationTracker(logger, {"emit_summary": False})
    tr.submitted("req_f", {})
    tr.failed("req_f", "CUDA out of memory", 1)
    tr.submitted("req_c", {})
    tr.cancelled("req_c", "bob", "stopped by user")
    with pytest.raises(InvalidArgument):
        tr.submitted("", {})
    with pytest.raises(InvalidArgument):
        tr.submitted("req_bad", "[1]")
    tr.close()
    logger.close()
    types = {(e.get("request_id"), e["event_type"]) for e in read_events(log_dir)}
    assert ("req_f", "generation.failed") in types and ("req_c", "generation.cancelled") in types


def test_tracker_int64_arguments_are_not_wrapped(logger, log_dir):
    # ctypes wraps an int outside int64_t silently (2**64 + 3 would reach the library as 3).
    tr = GenerationTracker(logger, {"emit_summary": False})
    tr.submitted("req_w", {})
    with pytest.raises(InvalidArgument, match="queue_position"):
        tr.queued("req_w", 2 ** 64 + 3)
    with pytest.raises(InvalidArgument, match="retry_count"):
        tr.failed("req_w", "boom", 2 ** 64 + 1)
    tr.queued("req_w", 2)
    tr.failed("req_w", "boom", 1)
    tr.close()
    logger.close()
    events = [e for e in read_events(log_dir) if e.get("request_id") == "req_w"]
    assert [e.get("queue_position") for e in events if e["event_type"] == "generation.queued"] == [2]
    assert [e.get("retry_count") for e in events if e["event_type"] == "generation.failed"] == [1]


# --- PromptSanitizer ----------------------------------------------------------------------------------------------------

def test_sanitizer_redacts_and_hashes():
    s = make_sanitizer()
    if s is None:
        pytest.skip("the library refuses every sanitizer configuration tried")
    with s:
        prompt = "portrait of jane.doe@example.com, studio light"
        r = s.sanitize(prompt)
        assert "jane.doe@example.com" not in r.text
        assert r.prompt_hash.split(":")[0] in ("hmac-sha256", "sha256") and len(r.prompt_hash.split(":")[1]) == 64
        assert r.prompt_hash == s.prompt_hash(prompt) == s.sanitize(prompt).prompt_hash
        assert s.prompt_hash(prompt + " ") != r.prompt_hash
        assert r["text"] == r.text and isinstance(r.findings, list) and r.findings
        assert all("jane.doe@example.com" not in json.dumps(f) for f in r.findings)
        with pytest.raises(InvalidArgument):
            s.sanitize(b"bad \xff utf-8")
        with pytest.raises(FooocusAuditError):
            s.reveal("not-a-token")
    with pytest.raises(InvalidHandle):
        s.sanitize("after close")


# --- ModelVersionRegistry ----------------------------------------------------------------------------------------------

def test_registry_register_check_verify(logger, log_dir, tmp_path):
    model = tmp_path / "sd_xl_base_1.0.safetensors"
    model.write_bytes(b"weights" * 1000)
    with ModelVersionRegistry(logger) as reg:
        mv = reg.register(model_id="sd_xl_base_1.0", version="1.0", kind="base", path=model,
                          registered_by="mlops@enterprise.com")
        assert mv["sha256"] == "sha256:" + hashlib.sha256(model.read_bytes()).hexdigest()
        reg.approve(model_id="sd_xl_base_1.0", version="1.0", actor="ciso@enterprise.com")
        assert [m["model_id"] for m in reg.models()] == ["sd_xl_base_1.0"]
        ok = reg.check_generation(request_id="req_ok", base={"model_id": "sd_xl_base_1.0"})
        assert ok["allowed"] is True
        assert reg.verify_file("sd_xl_base_1.0", "1.0", model)["outcome"] == "unchanged"
        model.write_bytes(b"tampered" * 1000)
        assert reg.verify_file("sd_xl_base_1.0", "1.0", model)["outcome"] == "modified"
        bad = reg.check_generation(request_id="req_bad", base={"model_id": "unknown_model"})
        assert bad["allowed"] is False and bad["violations"]
        with pytest.raises(FooocusAuditError):
            reg.approve(model_id="nope", version="1", actor="x")
    logger.close()
    types = [e["event_type"] for e in read_events(log_dir)]
    assert "model.registered" in types and "model.approved" in types and "model.violation" in types


# --- ChainVerifier ------------------------------------------------------------------------------------------------------

def test_verifier_intact_then_tampered(log_dir):
    with AuditLogger(dir=log_dir) as lg:
        for i in range(5):
            lg.log({"event_type": "test.v", "i": i})
    with ChainVerifier() as v:
        res = v.verify(log_dir)
        assert res.intact and bool(res) and res.records >= 5 and not res.findings
        seg = sorted(p for p in os.listdir(log_dir) if p.startswith("segment-"))[0]
        path = os.path.join(log_dir, seg)
        data = bytearray(open(path, "rb").read())
        i = data.index(b'"i":3')
        data[i + 4] = ord("4")
        open(path, "wb").write(bytes(data))
        res = v.verify(log_dir)
        assert not res.intact and res.findings and "reason" in res.findings[0]
        with pytest.raises(FooocusAuditError):
            v.verify(log_dir / "does-not-exist")
    with pytest.raises(InvalidHandle):
        v.verify(log_dir)
