# SPDX-License-Identifier: Apache-2.0
"""Hooks into Fooocus-API (mrhan1993/Fooocus-API 0.5.0.1), applied by monkeypatching; no file is edited.

Hook points (docs/fooocus-integration.md §6 quotes the upstream lines):

- ``fooocusapi.task_queue.TaskQueue.add_task``: generation.submitted + generation.queued for the new job_id; a
  ``None`` return (the queue is full) becomes generation.submitted + generation.failed
  ("rejected: the queue is full") under a fresh request id.
- ``fooocusapi.worker.process_generate``: generation.started (and the model registry check).
- ``fooocusapi.task_queue.TaskQueue.finish_task``: generation.completed with the files of ``task_result``,
  generation.failed (``finish_with_error`` or an exception being handled), generation.cancelled (the job was
  interrupted through ``interrupt_current_processing``, or a result says USER_CANCEL).
- ``fooocusapi.task_queue.requests.post`` (the webhook, inside finish_task): webhook.delivered / webhook.failed
  with the HTTP status and the URL's host only.
- ``api_key_auth`` (``fooocusapi.utils.api_utils``; ``fooocusapi.api_utils`` in 0.4): apikey.used with a key id
  derived from the key (never the key), auth.failed when the key is refused.
"""
from __future__ import annotations

import functools
import logging
import os
import sys
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional

from . import _core, _importhook
from ._core import GenerationRefused, Integration, RequestState, active, api_key_id
from .fooocus import patch_attr

log = logging.getLogger("fooocus_audit.integrations")

MODULE_TASK_QUEUE = "fooocusapi.task_queue"
MODULE_WORKER = "fooocusapi.worker"
API_KEY_MODULES = ("fooocusapi.utils.api_utils", "fooocusapi.api_utils")
FILE_UTILS_MODULES = ("fooocusapi.utils.file_utils", "fooocusapi.file_utils")
ROUTE_MODULES = ("fooocusapi.api", "fooocusapi.routes.generate_v1", "fooocusapi.routes.generate_v2",
                 "fooocusapi.routes.query")


def _submission(integ: Integration, task: Any, params: Any, rid: str) -> RequestState:
    parts = _core.submission_parts(integ, params, (task, None), seed_attr="image_seed", cfg_attr="guidance_scale")
    adp = getattr(params, "advanced_params", None)
    black_out = getattr(adp, "black_out_nsfw", None)
    if isinstance(black_out, bool):
        parts.request["enable_safety_checker"] = black_out
    return _core.submission_state(parts, params, rid)


def _on_add(integ: Integration, queue: Any, task: Any, params: Any) -> None:
    if task is None:
        # add_task returns None when len(queue) >= queue_size: the API answers "queue is full". The schema has
        # no rejected event, so the request is recorded as submitted, then failed with that reason.
        rid = integ.new_request_id()
        state = integ.guard("prompt privacy", _submission, integ, None, params, rid)
        if state is None:
            return
        integ.guard("generation.submitted", integ.tracker.submitted, rid, state.models["submission"])
        size = getattr(queue, "queue_size", None)
        integ.guard("generation.failed", integ.tracker.failed, rid,
                    f"rejected: the queue is full ({size} tasks)" if size is not None else
                    "rejected: the queue is full")
        return
    rid = str(getattr(task, "job_id", "") or "")
    if not rid:
        return
    state = integ.guard("prompt privacy", _submission, integ, task, params, rid, refusable=True)
    if state is None:
        return
    integ.remember(state)
    try:
        integ.guard("generation.submitted", integ.tracker.submitted, rid, state.models["submission"],
                    refusable=True)
        position = max(0, len(getattr(queue, "queue", []) or []) - 1)
        integ.guard("generation.queued", integ.tracker.queued, rid, position, refusable=True)
    except GenerationRefused:
        integ.forget(rid)
        raise


def _file_path_and_url(name: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for mod_name in FILE_UTILS_MODULES:
        mod = sys.modules.get(mod_name)
        if mod is None:
            continue
        folder = getattr(mod, "output_dir", None)
        if isinstance(folder, str):
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                out["path"] = path
        serve = getattr(mod, "get_file_serve_url", None)
        if callable(serve):
            try:
                url = serve(name)
                if isinstance(url, str) and url:
                    out["url"] = url
            except Exception:  # noqa: BLE001
                pass
        break
    if "path" not in out and os.path.isfile(name):
        out["path"] = name
    return out


def _reason(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


def _on_finish(integ: Integration, job_id: str, task: Any, error: Optional[BaseException]) -> None:
    state = integ.get(job_id)
    if task is None or state is None or state.finished:
        return
    state.finished = True
    results = getattr(task, "task_result", None) or []
    # A stop in the Fooocus-API lines that report it as a USER_CANCEL result also sets finish_with_error
    # (set_result(results, True, str(e))): the explicit cancel reason wins over the error flag.
    user_cancel = any(_reason(getattr(r, "finish_reason", "")).upper() == "USER_CANCEL" for r in results)
    if error is not None:
        integ.tracker.failed(job_id, integ.error_details(error, state))
    elif user_cancel:
        integ.tracker.cancelled(job_id, state.identity.get("user_id", "api"), "stopped through the stop endpoint")
    elif getattr(task, "finish_with_error", False):
        message = getattr(task, "error_message", None) or "error"
        details = integ.scrub(str(message), state) if integ.error_messages else "error"
        integ.tracker.failed(job_id, details or "error")
    elif state.interrupted:
        integ.tracker.cancelled(job_id, state.identity.get("user_id", "api"), "stopped through the stop endpoint")
    else:
        outputs: List[Dict[str, Any]] = []
        for r in results:
            name = getattr(r, "im", None)
            if isinstance(name, str) and name:
                entry = _file_path_and_url(name)
                if entry:
                    outputs.append(entry)
        if state.nsfw and len(state.nsfw) == len(outputs):
            for out, flag in zip(outputs, state.nsfw):
                out["has_nsfw_concepts"] = flag
        integ.tracker.completed(job_id, outputs, safety_checker_version=integ.safety_checker_version)


def _webhook(integ: Integration, url: Any, response: Any, error: Optional[BaseException], kwargs: Dict[str, Any]) -> None:
    rid = getattr(integ._local, "webhook_job", None)
    if not rid:
        payload = kwargs.get("json")
        rid = payload.get("job_id") if isinstance(payload, dict) else None
    if not rid:
        return
    with integ._lock:
        attempt = integ._webhook_attempts.get(rid, 0) + 1
        integ._webhook_attempts[rid] = attempt
        while len(integ._webhook_attempts) > 1000:
            integ._webhook_attempts.pop(next(iter(integ._webhook_attempts)))
    host = _core.url_host(url) if isinstance(url, str) else ""
    if error is not None:
        # Never the exception's text: requests puts the whole URL (and its token) in it.
        integ.tracker.webhook(rid, attempt, None, False, retry=False, url_host=host, error=type(error).__name__)
        return
    status = getattr(response, "status_code", None)
    status = status if isinstance(status, int) and 100 <= status <= 599 else None
    delivered = status is not None and 200 <= status < 300
    integ.tracker.webhook(rid, attempt, status, delivered, retry=False, url_host=host,
                          error="" if delivered else (f"HTTP {status}" if status else "no response"))


class RequestsProxy:
    """Stands in for the ``requests`` module inside fooocusapi.task_queue only: ``post`` is observed, every
    other attribute is the real module's."""

    def __init__(self, real: Any) -> None:
        object.__setattr__(self, "_real", real)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_real"), name)

    def post(self, url: Any, *args: Any, **kwargs: Any) -> Any:
        real = object.__getattribute__(self, "_real")
        try:
            response = real.post(url, *args, **kwargs)
        except BaseException as e:
            integ = active()
            if integ is not None:
                integ.guard("webhook.failed", _webhook, integ, url, None, e, kwargs)
            raise
        integ = active()
        if integ is not None:
            integ.guard("webhook", _webhook, integ, url, response, None, kwargs)
        return response


def _hook_task_queue(integ: Integration, module: ModuleType) -> None:
    cls = getattr(module, "TaskQueue", None)
    if cls is not None:
        def make_add(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def add_task(self: Any, *args: Any, **kwargs: Any) -> Any:
                integ_now = active()
                if integ_now is None:
                    return original(self, *args, **kwargs)
                params = kwargs.get("req_param", args[1] if len(args) > 1 else None)
                # Held until queued is written, so process_generate (which takes it too) starts after.
                with integ_now.api_lock:
                    task = original(self, *args, **kwargs)
                    try:
                        _on_add(integ_now, self, task, params)
                    except GenerationRefused:
                        try:
                            self.queue.remove(task)
                        except (AttributeError, ValueError):
                            pass
                        raise
                    except Exception as e:  # noqa: BLE001 - never break the API
                        integ_now.report("generation.queued", e)
                return task
            return add_task

        def make_finish(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def finish_task(self: Any, job_id: Any, *args: Any, **kwargs: Any) -> Any:
                integ_now = active()
                if integ_now is None:
                    return original(self, job_id, *args, **kwargs)
                error = sys.exc_info()[1]
                task = integ_now.guard("get_task", self.get_task, job_id)
                integ_now.guard("generation outcome", _on_finish, integ_now, str(job_id), task, error)
                integ_now._local.webhook_job = str(job_id)
                try:
                    return original(self, job_id, *args, **kwargs)
                finally:
                    integ_now._local.webhook_job = None
                    integ_now.forget(str(job_id))
            return finish_task

        if patch_attr(integ, cls, "add_task", make_add):
            integ.installed.append(f"{MODULE_TASK_QUEUE}.TaskQueue.add_task")
        if patch_attr(integ, cls, "finish_task", make_finish):
            integ.installed.append(f"{MODULE_TASK_QUEUE}.TaskQueue.finish_task")
    real = getattr(module, "requests", None)
    if real is not None and not isinstance(real, RequestsProxy):
        proxy = RequestsProxy(real)
        module.requests = proxy

        def restore() -> None:
            if module.requests is proxy:
                module.requests = real
        integ.on_uninstall(restore)
        integ.installed.append(f"{MODULE_TASK_QUEUE}.requests.post")


def _hook_worker(integ: Integration, module: ModuleType) -> None:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def process_generate(async_job: Any, *args: Any, **kwargs: Any) -> Any:
            integ_now = active()
            rid = str(getattr(async_job, "job_id", "") or "")
            if integ_now is None or not rid:
                return original(async_job, *args, **kwargs)
            with integ_now.api_lock:
                pass  # add_task has written queued
            state = integ_now.get(rid)
            integ_now.set_running(rid)
            try:
                if state is not None:
                    state.started = True
                    integ_now.guard("generation.started", integ_now.tracker.started, rid, integ_now.worker_id)
                    if integ_now.registry is not None:
                        allowed = integ_now.guard("model check", integ_now.check_models, state,
                                                  state.models["base"], state.models["refiner"],
                                                  state.models["loras"])
                        if allowed is False:
                            # Reported the way Fooocus-API reports a failed job (set_result + finish_task).
                            try:
                                async_job.set_result([], True,
                                                     "refused: a model is not allowed by the model registry")
                                queue = getattr(original, "__globals__", {}).get("worker_queue")
                                if queue is not None:
                                    queue.finish_task(rid)
                            except Exception as e:  # noqa: BLE001
                                integ_now.report("refusing the job", e)
                            return []
                return original(async_job, *args, **kwargs)
            finally:
                if integ_now.running_here() == rid:
                    integ_now.set_running(None)
        return process_generate

    if patch_attr(integ, module, "process_generate", make):
        integ.installed.append(f"{MODULE_WORKER}.process_generate")


def _hook_api_key(integ: Integration, module: ModuleType) -> None:
    if getattr(module, "api_key_auth", None) is None:
        return
    late = [m for m in ROUTE_MODULES if m in sys.modules and m != module.__name__]
    if late:
        log.warning("fooocus_audit: install() ran after %s captured api_key_auth; apikey.used is not recorded "
                    "for its routes (install before importing fooocusapi, see docs/fooocus-integration.md)",
                    ", ".join(late))

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        configured = getattr(original, "__globals__", {}).get("args")

        @functools.wraps(original)  # FastAPI reads the signature through __wrapped__: Security(X-API-KEY)
        def api_key_auth(*args: Any, **kwargs: Any) -> Any:
            key = kwargs.get("apikey", args[0] if args else None)
            try:
                result = original(*args, **kwargs)
            except Exception:
                integ_now = active()
                if integ_now is not None:
                    integ_now.guard("auth.failed", integ_now.log_event,
                                    {"event_type": "auth.failed", "method": "api_key",
                                     "reason": "missing API key" if not key else "invalid API key"})
                raise
            integ_now = active()
            enforced = getattr(configured, "apikey", "unknown") is not None
            if integ_now is not None and key and enforced:
                integ_now.guard("apikey.used", lambda: integ_now.log_event(
                    {"event_type": "apikey.used", "key_id": api_key_id(str(key), integ_now.api_key_salt)}))
            return result
        return api_key_auth

    if patch_attr(integ, module, "api_key_auth", make):
        integ.installed.append(f"{module.__name__}.api_key_auth")


def install(integ: Integration) -> None:
    _importhook.when_imported(MODULE_TASK_QUEUE, lambda m: _hook_task_queue(integ, m))
    _importhook.when_imported(MODULE_WORKER, lambda m: _hook_worker(integ, m))
    for name in API_KEY_MODULES:
        _importhook.when_imported(name, lambda m: _hook_api_key(integ, m))
