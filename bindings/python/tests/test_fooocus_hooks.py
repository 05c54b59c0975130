# SPDX-License-Identifier: Apache-2.0
"""End to end through the plain-Fooocus stand-ins (modules.async_worker's real worker thread, webui's
generate_clicked / stop_clicked / skip_clicked) with the hooks installed."""
import hashlib
import threading
import time
import types

import pytest

from fooocus_audit import AuditLogger, ChainVerifier, ModelVersionRegistry
from fooocus_audit import integrations
from fooocus_audit.integrations import GenerationRefused

from conftest import cli_verify, log_bytes, make_sanitizer, read_events

EMAIL = "jane.doe@example.com"
API_KEY = "sk-proj-4eC39HqLyjWDarjtT1zdp7dcQ9xWq2"
SECRET_PROMPT = f"portrait photo, contact {EMAIL}, token {API_KEY}, golden hour"
NEGATIVE = f"blurry, watermark, {EMAIL}"


class FakeGradioRequest:
    """What gradio.Request offers the hook: username (with auth), client.host, headers, session_hash."""

    def __init__(self, username):
        self.username = username
        self.client = types.SimpleNamespace(host="10.2.3.4")
        self.headers = {"user-agent": "Mozilla/5.0 (test)"}
        self.session_hash = "sess_abc123"


def _run(task, edited_request=None):
    import webui
    gen = webui.generate_clicked_edited(task, edited_request) if edited_request else webui.generate_clicked(task)
    return list(gen)


def _task(prompt, **kw):
    import modules.async_worker as worker
    import webui
    return webui.get_task(None, *worker.make_args(prompt, **kw))


@pytest.fixture(params=["sanitizer", "no_sanitizer"])
def fooocus(request, tmp_path, monkeypatch):
    import modules.config
    monkeypatch.setattr(modules.config, "path_outputs", str(tmp_path / "outputs"))
    sanitizer = make_sanitizer() if request.param == "sanitizer" else None
    if request.param == "sanitizer" and sanitizer is None:
        pytest.skip("the library refuses every sanitizer configuration tried")
    log_dir = tmp_path / "log"
    logger = AuditLogger(dir=log_dir, durability="group_commit")
    integ = integrations.install(logger, sanitizer=sanitizer, tenant_id="acme_corp", worker_id="gpu-test",
                                 safety_checker_version="standin-1")
    import modules.async_worker  # noqa: F401 - already imported or hooked right at import
    import webui  # noqa: F401
    yield types.SimpleNamespace(integ=integ, logger=logger, log_dir=log_dir, sanitizer=sanitizer)
    integrations.uninstall()
    logger.release()
    if sanitizer is not None:
        sanitizer.close()


def _by_request(events):
    out = {}
    for i, e in enumerate(events):
        rid = e.get("request_id")
        if rid:
            out.setdefault(rid, []).append((i, e))
    return out


def _types(entries):
    return [e["event_type"] for _, e in entries]


def test_lifecycle_end_to_end(fooocus):
    import modules.async_worker as worker
    import webui

    ok = _task(SECRET_PROMPT, negative_prompt=NEGATIVE, image_number=2, seed=42,
               loras=[(True, "brand-style-v2.safetensors", 0.8)])
    ok_out = _run(ok)
    assert ok_out[-1][0] == "finish" and len(ok_out[-1][1]) == 2

    nsfw = _task("TRIGGER_NSFW scene", black_out_nsfw=True)
    _run(nsfw)

    failing = _task(f"TRIGGER_FAIL {SECRET_PROMPT}")
    fail_out = _run(failing)
    assert fail_out[-1] == ("finish", [])

    with_user = _task("a watch on marble")
    _run(with_user, edited_request=FakeGradioRequest("alice@enterprise.com"))

    skipped = _task("skip one of two", image_number=2)
    th = threading.Thread(target=_run, args=(skipped,))
    th.start()
    _wait(lambda: skipped.processing)
    webui.skip_clicked(skipped)
    th.join(10)

    stopped = _task("a very long generation", image_number=50)
    th = threading.Thread(target=_run, args=(stopped,))
    th.start()
    _wait(lambda: stopped.processing)
    webui.stop_clicked(stopped)
    th.join(10)
    assert not th.is_alive()

    rids = {name: getattr(t, "fooocus_audit_request_id") for name, t in
            [("ok", ok), ("nsfw", nsfw), ("failing", failing), ("user", with_user), ("skipped", skipped),
             ("stopped", stopped)]}
    assert len(set(rids.values())) == 6
    assert fooocus.integ.hook_errors == 0
    assert len(worker.async_tasks) == 0

    integrations.uninstall()
    fooocus.logger.close()

    # The C++ verifier and the ctypes ChainVerifier agree the log is intact.
    code, report = cli_verify(fooocus.log_dir)
    assert code == 0 and report["intact"] is True
    with ChainVerifier() as v:
        assert v.verify(fooocus.log_dir).intact

    events = read_events(fooocus.log_dir)
    per = _by_request(events)
    lifecycle = ["generation.submitted", "generation.queued", "generation.started"]

    def check_order(rid, terminal):
        entries = per[rid]
        types_ = _types(entries)
        assert types_[:3] == lifecycle, types_
        assert terminal in types_
        idx = {}
        for i, e in entries:
            idx.setdefault(e["event_type"], i)
        assert idx["generation.submitted"] < idx["generation.queued"] < idx["generation.started"] < idx[terminal]
        assert "generation.anomaly" not in types_
        return {e["event_type"]: e for _, e in entries}

    # Success: two outputs, hashed by the tracker, durations consistent with the stand-in's sleeps.
    ev = check_order(rids["ok"], "generation.completed")
    sub = ev["generation.submitted"]
    assert sub["tenant_id"] == "acme_corp"
    req = sub["request"]
    assert req["prompt_hash"].startswith(("hmac-sha256:", "sha256:"))
    assert req["num_images"] == 2 and req["seed"] == 42 and req["aspect_ratio"] == "1152x896"
    assert req["performance"] == "Speed" and req["loras"] == [{"name": "brand-style-v2.safetensors", "weight": 0.8}]
    assert sub["model_version"] == "juggernautXL_v8Rundiffusion.safetensors"
    if fooocus.sanitizer is not None:
        assert "portrait photo" in req["prompt_sanitized"] and EMAIL not in req["prompt_sanitized"]
    else:
        assert req.get("prompt_sanitized", "") == "" and req.get("negative_prompt", "") == ""  # no text at all
    started = ev["generation.started"]
    assert started["worker_id"] == "gpu-test" and started["queue_wait_ms"] >= 0
    completed = ev["generation.completed"]
    steps_ms = worker.STEPS * worker.STEP_SECONDS * 1000
    assert completed["generation_duration_ms"] >= 2 * steps_ms * 0.9  # two images, each sleeps STEPS steps
    outs = completed["outputs"]
    assert len(outs) == 2
    for o, path in zip(outs, ok_out[-1][1]):
        with open(path, "rb") as f:
            assert o["sha256"] == "sha256:" + hashlib.sha256(f.read()).hexdigest()
        assert (o["width"], o["height"]) == (1152 // 64, 896 // 64)

    # NSFW: the safety checker's verdict, linked to the request by the prompt's keyed hash.
    ev = check_order(rids["nsfw"], "generation.completed")
    safety = [e for _, e in per[rids["nsfw"]] if e["event_type"] == "safety_check.completed"]
    assert len(safety) == 1
    assert safety[0]["has_nsfw_concepts"] == [True] and safety[0]["action"] == "blocked"
    assert safety[0]["prompt_hash"] == ev["generation.submitted"]["request"]["prompt_hash"]
    assert safety[0]["safety_checker_version"] == "standin-1"
    assert ev["generation.submitted"]["request"]["enable_safety_checker"] is True

    # Failure: an exception was being handled when 'finish' was yielded; its message had the prompt.
    ev = check_order(rids["failing"], "generation.failed")
    details = ev["generation.failed"]["error_details"]
    assert details.startswith("RuntimeError") and "TRIGGER_FAIL" not in details

    # The one-line webui edit: the user, client address and agent from the Gradio request.
    ev = check_order(rids["user"], "generation.completed")
    sub = ev["generation.submitted"]
    assert sub["user_id"] == "alice@enterprise.com" and sub["ip_address"] == "10.2.3.4"
    assert sub["session_id"] == "sess_abc123" and sub["user_agent"] == "Mozilla/5.0 (test)"
    assert ev["generation.completed"].get("user_id") == "alice@enterprise.com"

    # Skip is not a cancel: the request completes with the images that were not skipped.
    ev = check_order(rids["skipped"], "generation.completed")
    assert 1 <= len(ev["generation.completed"]["outputs"]) <= 2

    # Stop: cancelled, after it started.
    ev = check_order(rids["stopped"], "generation.cancelled")
    assert ev["generation.cancelled"]["reason"] == "stopped by user"

    # Requests are in the log in the order they were run.
    firsts = [per[rids[k]][0][0] for k in ("ok", "nsfw", "failing", "user", "skipped", "stopped")]
    assert firsts == sorted(firsts)

    # The raw prompt, the e-mail address and the API key appear nowhere in the log's bytes.
    data = log_bytes(fooocus.log_dir)
    for needle in (SECRET_PROMPT, EMAIL, API_KEY, NEGATIVE):
        assert needle.encode() not in data
    if fooocus.sanitizer is None:
        assert b"TRIGGER_FAIL" not in data and b"portrait photo" not in data  # no prompt text at all


def _wait(cond, timeout=10.0):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.002)


def test_install_is_idempotent_and_uninstall_restores(fooocus):
    import extras.safety_checker.models.safety_checker as sc
    import ldm_patched.modules.model_management as mm
    import modules.async_worker as worker

    assert integrations.install(fooocus.logger) is fooocus.integ
    init = worker.AsyncTask.__init__
    assert getattr(init, "__fooocus_audit_hook__", False)
    assert not getattr(init.__wrapped__, "__fooocus_audit_hook__", False)  # wrapped once, not twice
    assert type(worker.async_tasks).__name__ == "HookedTasks"
    for name in ("modules.async_worker.AsyncTask.__init__", "modules.async_worker.async_tasks",
                 "ldm_patched.modules.model_management.interrupt_current_processing",
                 "extras.safety_checker.models.safety_checker.StableDiffusionSafetyChecker.forward"):
        assert name in fooocus.integ.installed
    assert integrations.uninstall() is True
    assert integrations.uninstall() is False
    assert type(worker.async_tasks) is list
    assert worker.AsyncTask.__init__ is init.__wrapped__
    assert not getattr(sc.StableDiffusionSafetyChecker.forward, "__fooocus_audit_hook__", False)
    assert not getattr(mm.interrupt_current_processing, "__fooocus_audit_hook__", False)
    # Fooocus still works and nothing more is audited.
    before = fooocus.logger.stats()["accepted"]
    out = _run(_task("after uninstall", black_out_nsfw=True))
    assert out[-1][0] == "finish" and len(out[-1][1]) == 1
    assert fooocus.logger.stats()["accepted"] == before


def test_a_broken_audit_log_never_breaks_fooocus(fooocus, caplog):
    fooocus.logger.close()  # every write now fails with Closed
    out = _run(_task(SECRET_PROMPT, black_out_nsfw=True))
    assert out[-1][0] == "finish" and len(out[-1][1]) == 1
    assert fooocus.integ.hook_errors >= 3
    assert "Closed" in caplog.text
    for needle in (SECRET_PROMPT, EMAIL, API_KEY):
        assert needle not in caplog.text


def test_fail_closed_refuses_before_queueing(tmp_path, monkeypatch):
    import modules.async_worker as worker
    import modules.config
    monkeypatch.setattr(modules.config, "path_outputs", str(tmp_path / "outputs"))
    logger = AuditLogger(dir=tmp_path / "log")
    integrations.install(logger, fail_closed=True)
    try:
        _run(_task("fine"))  # works while the log works
        logger.close()
        task = _task("refused")
        with pytest.raises(GenerationRefused):
            _run(task)
        assert len(worker.async_tasks) == 0 and not task.yields and not task.processing
    finally:
        integrations.uninstall()
        logger.release()


def test_model_registry_check_and_registration(tmp_path, monkeypatch):
    import modules.config
    ckpt = tmp_path / "checkpoints"
    loras = tmp_path / "loras"
    (ckpt / "sub").mkdir(parents=True)
    loras.mkdir()
    (ckpt / "approved.safetensors").write_bytes(b"A" * 4096)
    (ckpt / "sub" / "pending.safetensors").write_bytes(b"B" * 4096)
    (loras / "style.safetensors").write_bytes(b"C" * 1024)
    (ckpt / "readme.txt").write_text("not a model")
    monkeypatch.setattr(modules.config, "paths_checkpoints", [str(ckpt)])
    monkeypatch.setattr(modules.config, "paths_loras", [str(loras)])
    monkeypatch.setattr(modules.config, "path_outputs", str(tmp_path / "outputs"))
    log_dir = tmp_path / "log"
    logger = AuditLogger(dir=log_dir)
    registry = ModelVersionRegistry(logger)
    integ = integrations.install(logger, registry=registry, register_models=True, registered_by="ops@acme")
    try:
        integ.models_thread.join(30)
        models = {m["model_id"]: m for m in registry.models()}
        assert set(models) == {"approved.safetensors", "sub/pending.safetensors", "style.safetensors"}
        assert models["style.safetensors"]["kind"] == "lora"
        registry.approve(model_id="approved.safetensors", version="1", actor="ciso@acme")
        _run(_task("allowed", base_model="approved.safetensors"))
        blocked = _task("blocked", base_model="unregistered.safetensors")
        with pytest.raises(GenerationRefused):
            _run(blocked)
    finally:
        integrations.uninstall()
        registry.close()
        logger.release()
    events = read_events(log_dir)
    types_ = [e["event_type"] for e in events]
    assert types_.count("model.registered") == 3
    rid = blocked.fooocus_audit_request_id
    mine = [e["event_type"] for e in events if e.get("request_id") == rid]
    assert "model.violation" in mine and "generation.failed" in mine and "generation.started" not in mine


def test_user_resolver_and_a_failing_resolver(tmp_path, monkeypatch):
    import modules.config
    monkeypatch.setattr(modules.config, "path_outputs", str(tmp_path / "outputs"))
    calls = []

    def resolver(task, request):
        calls.append((task.prompt, request))
        if task.prompt == "explode":
            raise KeyError("no such user")
        return {"user_id": "svc-batch", "tenant_id": "tenant_b", "session_id": "s1"}

    logger = AuditLogger(dir=tmp_path / "log")
    integ = integrations.install(logger, user_resolver=resolver, tenant_id="acme_corp")
    try:
        good, bad = _task("resolved"), _task("explode")
        _run(good)
        _run(bad)  # the resolver's error is reported, the generation still runs
        assert integ.hook_errors == 1
    finally:
        integrations.uninstall()
        logger.release()
    assert [c[0] for c in calls] == ["resolved", "explode"] and calls[0][1] is None
    events = read_events(tmp_path / "log")
    sub = {e["request_id"]: e for e in events if e["event_type"] == "generation.submitted"}
    g = sub[good.fooocus_audit_request_id]
    assert (g["user_id"], g["tenant_id"], g["session_id"]) == ("svc-batch", "tenant_b", "s1")
    b = sub[bad.fooocus_audit_request_id]
    assert "user_id" not in b and b["tenant_id"] == "acme_corp"
    assert "generation.completed" in [e["event_type"] for e in events
                                      if e.get("request_id") == bad.fooocus_audit_request_id]


def test_unexpected_hook_errors_never_break_fooocus(fooocus, monkeypatch):
    def boom(*a, **kw):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(fooocus.integ, "prompt_privacy", boom)
    monkeypatch.setattr(fooocus.integ.tracker, "started", boom)
    monkeypatch.setattr(fooocus.integ, "safety_checked", boom)
    out = _run(_task("still works", black_out_nsfw=True))
    assert out[-1][0] == "finish" and len(out[-1][1]) == 1
    assert fooocus.integ.hook_errors >= 2


def test_error_details_scrub_prompt_lines_and_repr(tmp_path):
    # Fooocus splits a prompt by line (each line its own prompt), so an exception can quote one line, or the whole
    # prompt through repr() (newlines escaped): neither is the raw prompt as a substring.
    from fooocus_audit.integrations._core import Integration, RequestState
    logger = AuditLogger(dir=tmp_path / "log")
    integ = Integration(logger)
    try:
        prompt = "portrait of jane doe\n  second  line with   private words \n"
        state = RequestState(request_id="req_s", secrets_to_scrub=(prompt, "no faces\nwatermark"))
        for error in (RuntimeError(f"bad prompt {prompt!r}"), KeyError("second line with private words"),
                      ValueError("while encoding 'portrait of jane doe': CUDA error"),
                      ValueError("negative 'watermark' too long")):
            details = integ.error_details(error, state)
            for needle in ("jane doe", "private words", "watermark"):
                assert needle not in details, details
            assert "[PROMPT]" in details
    finally:
        integ.restore_all()
        logger.release()
