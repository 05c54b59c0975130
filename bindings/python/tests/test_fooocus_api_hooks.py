# SPDX-License-Identifier: Apache-2.0
"""End to end through the Fooocus-API stand-ins (TaskQueue, the task_schedule_loop worker thread,
process_generate, finish_task's webhook, the X-API-KEY dependency) with the hooks installed."""
import hashlib
import os
import threading
import time
import types

import pytest

from fooocus_audit import AuditLogger, ChainVerifier
from fooocus_audit import integrations
from fooocus_audit.integrations import api_key_id

from conftest import cli_verify, log_bytes, make_sanitizer, read_events

EMAIL = "jane.doe@example.com"
SECRET_KEY = "sk-proj-4eC39HqLyjWDarjtT1zdp7dcQ9xWq2"
API_KEY = "fooocus-api-key-Zt9XqL3vN7mP2wR8"
WEBHOOK_TOKEN = "whsec_S3cr3tT0k3nInTheQuery99"


def _wait(cond, timeout=10.0):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.002)


@pytest.fixture
def api(tmp_path):
    log_dir = tmp_path / "log"
    logger = AuditLogger(dir=log_dir, durability="group_commit")
    sanitizer = make_sanitizer()
    # install() runs before the routes module is imported, as the guide's launcher does.
    integ = integrations.install_api(logger, sanitizer=sanitizer, tenant_id="acme_corp", worker_id="api-gpu-0")
    import requests
    import fooocusapi.args
    import fooocusapi.routes.generate_v1 as routes
    import fooocusapi.worker as worker
    from fooocusapi.task_queue import TaskQueue
    requests.RESPONSES.clear()
    requests.RESPONSES.update({"hooks.example.com": 200, "broken.example.com": 503,
                               "down.example.com": OSError("connection refused")})
    fooocusapi.args.args.apikey = API_KEY
    worker.worker_queue = TaskQueue(queue_size=2, hisotry_size=10)
    stop = threading.Event()
    loop = threading.Thread(target=worker.task_schedule_loop, args=(stop,), daemon=True)
    env = types.SimpleNamespace(integ=integ, logger=logger, log_dir=log_dir, routes=routes, worker=worker,
                                loop=loop, stop=stop, sanitizer=sanitizer)
    yield env
    stop.set()
    if loop.is_alive():
        loop.join(10)
    fooocusapi.args.args.apikey = None
    integrations.uninstall()
    logger.release()
    if sanitizer is not None:
        sanitizer.close()


def _params(prompt, **kw):
    from fooocusapi.parameters import AdvancedParams, ImageGenerationParams
    black_out = kw.pop("black_out_nsfw", False)
    return ImageGenerationParams(prompt=prompt, advanced_params=AdvancedParams(black_out_nsfw=black_out), **kw)


def test_api_end_to_end(api):
    from fastapi import HTTPException
    routes, worker = api.routes, api.worker
    prompt = f"luxury watch, owner {EMAIL}, key {SECRET_KEY}"

    # Queue full: with the worker stopped, two jobs fill the queue (size 2) and the third is rejected.
    a = routes.text2img(_params(prompt, image_number=2), x_api_key=API_KEY,
                        webhook_url=f"https://hooks.example.com/cb?token={WEBHOOK_TOKEN}")
    b = routes.text2img(_params("TRIGGER_FAIL " + prompt), x_api_key=API_KEY,
                        webhook_url=f"https://broken.example.com:8443/cb?token={WEBHOOK_TOKEN}")
    full = routes.text2img(_params("third"), x_api_key=API_KEY)
    assert isinstance(full, list) and full[0].finish_reason.value == "QUEUE_IS_FULL"
    with pytest.raises(HTTPException):
        routes.text2img(_params("no key"), x_api_key="wrong-key")

    api.loop.start()
    _wait(lambda: a.is_finished and b.is_finished)
    c = routes.text2img(_params("TRIGGER_NSFW", black_out_nsfw=True), x_api_key=API_KEY,
                        webhook_url=f"http://down.example.com/cb?token={WEBHOOK_TOKEN}")
    _wait(lambda: c.is_finished)
    d = routes.text2img(_params("long job", image_number=50), x_api_key=API_KEY)
    _wait(lambda: d.start_millis != 0)
    time.sleep(0.03)
    worker.process_stop()  # POST /v1/generation/stop
    _wait(lambda: d.is_finished)
    assert not a.finish_with_error and b.finish_with_error and not c.finish_with_error
    assert api.integ.hook_errors == 0

    api.stop.set()
    api.loop.join(10)
    integrations.uninstall()
    api.logger.close()

    code, report = cli_verify(api.log_dir)
    assert code == 0 and report["intact"] is True
    with ChainVerifier() as v:
        assert v.verify(api.log_dir).intact

    events = read_events(api.log_dir)

    def of(rid):
        return [(i, e) for i, e in enumerate(events) if e.get("request_id") == rid]

    def first(entries, t):
        return next(i for i, e in entries if e["event_type"] == t)

    def one(entries, t):
        found = [e for _, e in entries if e["event_type"] == t]
        assert len(found) == 1, (t, [e["event_type"] for _, e in entries])
        return found[0]

    # a: completed with its two files (hashed), then the webhook delivered (host only, no token).
    ea = of(a.job_id)
    assert first(ea, "generation.submitted") < first(ea, "generation.queued") < first(ea, "generation.started") \
        < first(ea, "generation.completed") < first(ea, "webhook.delivered")
    sub = one(ea, "generation.submitted")
    assert sub["tenant_id"] == "acme_corp" and sub["request"]["num_images"] == 2
    assert sub["request"]["aspect_ratio"] == "1152x896"
    assert one(ea, "generation.queued")["queue_position"] == 0
    assert one(ea, "generation.started")["worker_id"] == "api-gpu-0"
    done = one(ea, "generation.completed")
    assert done["generation_duration_ms"] >= 2 * worker.STEPS * worker.STEP_SECONDS * 1000 * 0.9
    from fooocusapi.utils import file_utils
    for out, res in zip(done["outputs"], a.task_result):
        path = os.path.join(file_utils.output_dir, res.im)
        with open(path, "rb") as f:
            assert out["sha256"] == "sha256:" + hashlib.sha256(f.read()).hexdigest()
        assert out["url"] == file_utils.get_file_serve_url(res.im)
    hook = one(ea, "webhook.delivered")
    assert hook["status"] == 200 and hook["url_host"] == "hooks.example.com" and hook["attempt"] == 1

    # b: queued behind a (position 1), waited longer than a ran, failed, webhook answered 503.
    eb = of(b.job_id)
    assert one(eb, "generation.queued")["queue_position"] == 1
    assert one(eb, "generation.started")["queue_wait_ms"] >= done["generation_duration_ms"]
    failed = one(eb, "generation.failed")
    assert failed["error_details"] and "TRIGGER_FAIL" not in failed["error_details"]
    wf = one(eb, "webhook.failed")
    assert wf["status"] == 503 and wf["url_host"] == "broken.example.com:8443"
    assert first(eb, "generation.failed") < first(eb, "webhook.failed")

    # The rejected third job: submitted then failed with the reason, never queued or started.
    rejected = [e for e in events if e["event_type"] == "generation.failed"
                and e["error_details"].startswith("rejected: the queue is full")]
    assert len(rejected) == 1
    er = of(rejected[0]["request_id"])
    assert [e["event_type"] for _, e in er][:2] == ["generation.submitted", "generation.failed"]

    # c: the safety checker flagged the image; the webhook host was down (no status, error class only).
    ec = of(c.job_id)
    safety = one(ec, "safety_check.completed")
    assert safety["has_nsfw_concepts"] == [True] and safety["action"] == "blocked"
    assert safety["prompt_hash"] == one(ec, "generation.submitted")["request"]["prompt_hash"]
    down = one(ec, "webhook.failed")
    assert "status" not in down and down["url_host"] == "down.example.com" and down["error"] == "ConnectionError"

    # d: the stop endpoint interrupted it while running.
    ed = of(d.job_id)
    assert first(ed, "generation.started") < first(ed, "generation.cancelled")
    assert "generation.completed" not in [e["event_type"] for _, e in ed]

    # The API key: used (a derived id, never the key) for every accepted call; the wrong key refused.
    used = [e for e in events if e["event_type"] == "apikey.used"]
    assert len(used) == 5 and {e["key_id"] for e in used} == {api_key_id(API_KEY)}
    assert [e for e in events if e["event_type"] == "auth.failed"][0]["method"] == "api_key"

    for rid in (a.job_id, b.job_id, c.job_id, d.job_id):
        assert "generation.anomaly" not in [e["event_type"] for _, e in of(rid)]

    data = log_bytes(api.log_dir)
    for needle in (prompt, EMAIL, SECRET_KEY, API_KEY, WEBHOOK_TOKEN, "wrong-key"):
        assert needle.encode() not in data


def test_api_key_id_is_derived_and_passes_the_schema(api):
    kid = api_key_id(API_KEY)
    assert kid.startswith("key_") and len(kid) == 20 and API_KEY not in kid
    assert kid == api_key_id(API_KEY) != api_key_id(API_KEY + "x")
    assert api_key_id(API_KEY, b"tenant-salt") != kid
    api.logger.log({"event_type": "apikey.used", "key_id": kid})  # accepted by the key-material rule


def test_api_uninstall_restores(api):
    import fooocusapi.task_queue as tq
    import fooocusapi.utils.api_utils as au
    import fooocusapi.worker as worker
    assert type(tq.requests).__name__ == "RequestsProxy"
    integrations.uninstall()
    assert type(tq.requests).__name__ == "module"
    for fn in (tq.TaskQueue.add_task, tq.TaskQueue.finish_task, worker.process_generate, au.api_key_auth):
        assert not getattr(fn, "__fooocus_audit_hook__", False)


def test_api_registry_blocks_before_generation(tmp_path):
    from fooocus_audit import ModelVersionRegistry
    log_dir = tmp_path / "log"
    logger = AuditLogger(dir=log_dir)
    registry = ModelVersionRegistry(logger)
    model = tmp_path / "approved.safetensors"
    model.write_bytes(b"M" * 2048)
    registry.register(model_id="approved.safetensors", version="1", kind="base", path=model, registered_by="ops")
    registry.approve(model_id="approved.safetensors", version="1", actor="ciso")
    integrations.install_api(logger, registry=registry)
    import fooocusapi.args
    import fooocusapi.routes.generate_v1 as routes
    import fooocusapi.worker as worker
    from fooocusapi.task_queue import TaskQueue
    fooocusapi.args.args.apikey = None
    worker.worker_queue = TaskQueue(queue_size=10, hisotry_size=10)
    stop = threading.Event()
    loop = threading.Thread(target=worker.task_schedule_loop, args=(stop,), daemon=True)
    loop.start()
    try:
        ok = routes.text2img(_params("fine", base_model_name="approved.safetensors"))
        bad = routes.text2img(_params("not allowed", base_model_name="unknown.safetensors"))
        _wait(lambda: ok.is_finished and bad.is_finished)
    finally:
        stop.set()
        loop.join(10)
        integrations.uninstall()
        registry.close()
        logger.release()
    assert not ok.finish_with_error and bad.finish_with_error and not bad.task_result
    events = read_events(log_dir)
    mine = [e["event_type"] for e in events if e.get("request_id") == bad.job_id]
    assert "model.violation" in mine and "generation.failed" in mine and "generation.completed" not in mine
    assert mine.index("generation.started") < mine.index("generation.failed")
    assert "generation.completed" in [e["event_type"] for e in events if e.get("request_id") == ok.job_id]
    assert not [e for e in events if e["event_type"] == "apikey.used"]  # --apikey not set: nothing to record


def test_api_keeps_working_when_the_log_is_closed(api):
    import requests
    api.logger.close()
    api.loop.start()
    job = api.routes.text2img(_params("works anyway"), x_api_key=API_KEY,
                              webhook_url="https://hooks.example.com/cb")
    _wait(lambda: job.is_finished)
    assert not job.finish_with_error and job.task_result
    assert requests.CALLS and requests.CALLS[-1][1]["job_id"] == job.job_id  # the webhook still went out
    assert api.integ.hook_errors >= 4


def test_user_cancel_result_with_error_flag_is_a_cancel(tmp_path):
    # Fooocus-API lines that report a stop as a USER_CANCEL result do it with set_result(results, True, str(e)):
    # finish_with_error is set, yet the job was cancelled, not failed.
    from fooocus_audit.integrations import fooocus_api as hooks
    from fooocus_audit.integrations._core import Integration, RequestState
    from fooocusapi.parameters import GenerationFinishReason, ImageGenerationResult
    log_dir = tmp_path / "log"
    logger = AuditLogger(dir=log_dir)
    integ = Integration(logger)
    try:
        for rid, reason in (("job_cancel", GenerationFinishReason.user_cancel),
                            ("job_error", GenerationFinishReason.error)):
            integ.tracker.submitted(rid, {})
            integ.tracker.queued(rid, 0)
            integ.tracker.started(rid, "w")
            integ.remember(RequestState(request_id=rid))
            task = types.SimpleNamespace(task_result=[ImageGenerationResult(None, "1", reason)],
                                         finish_with_error=True, error_message="")
            hooks._on_finish(integ, rid, task, None)
    finally:
        integ.restore_all()
        logger.release()
    final = {e["request_id"]: e["event_type"] for e in read_events(log_dir)
             if e["event_type"] in ("generation.cancelled", "generation.failed", "generation.completed")}
    assert final == {"job_cancel": "generation.cancelled", "job_error": "generation.failed"}
