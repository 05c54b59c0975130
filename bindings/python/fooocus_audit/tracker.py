# SPDX-License-Identifier: Apache-2.0
"""GenerationTracker: the request lifecycle of docs/events.md §5, through fa_tracker_*."""
from __future__ import annotations

import ctypes
import os
from typing import Any, Dict, Iterable, Optional, Union

from ._handle import Handle, JsonInput, b_len, encode_json, encode_text, int64
from .logger import AuditLogger

Output = Union[str, "os.PathLike[str]", Dict[str, Any]]


class GenerationTracker(Handle):
    """Follows each request by request_id (submitted → queued → started → completed | failed | cancelled, then
    webhook attempts) and writes one event per step into ``logger``, with durations from one clock and output
    files hashed by the library. Illegal transitions are recorded as ``generation.anomaly``, never raised.

    Options (all optional, docs/c-api.md): abandon_after_ms, finished_retention_ms, max_tracked,
    sweep_interval_ms, emit_summary. Thread-safe.
    """

    _destroy_name = "fa_tracker_destroy"

    def __init__(self, logger: AuditLogger, options: Optional[Dict[str, Any]] = None, **kw: Any) -> None:
        super().__init__()
        self._logger = logger  # keeps the logger object alive at least as long as the tracker
        opts = dict(options or {})
        opts.update(kw)
        data = encode_json(opts, "tracker options")
        logger._borrow(lambda lg: self._lib.fa_tracker_create(lg, *b_len(data), ctypes.byref(self._ptr)))

    def submitted(self, request_id: str, submission: Optional[JsonInput] = None) -> None:
        """generation.submitted. ``submission``: {user_id, tenant_id, session_id, ip_address, user_agent,
        model_version, refiner_model, request: {prompt_sanitized, prompt_hash, ...}} (the prompt already
        sanitized: the tracker never sees the raw prompt)."""
        rid = encode_text(request_id, "request_id")
        data = encode_json(submission if submission is not None else {}, "submission")
        self._call("fa_tracker_submitted", *b_len(rid), *b_len(data))

    def queued(self, request_id: str, queue_position: int = 0) -> None:
        """generation.queued {queue_position} (0 = next)."""
        rid = encode_text(request_id, "request_id")
        self._call("fa_tracker_queued", *b_len(rid), int64(queue_position, "queue_position"))

    def started(self, request_id: str, worker_id: str = "") -> None:
        """generation.started {worker_id, queue_wait_ms}."""
        rid = encode_text(request_id, "request_id")
        wid = encode_text(worker_id, "worker_id")
        self._call("fa_tracker_started", *b_len(rid), *b_len(wid))

    def completed(self, request_id: str, outputs: Iterable[Output] = (), *,
                  safety_checker_version: Optional[str] = None, retry_count: int = 0) -> None:
        """generation.completed (+ the image_generation summary). ``outputs``: paths, or dicts {path, url,
        has_nsfw_concepts}; the library hashes and measures each file."""
        rid = encode_text(request_id, "request_id")
        outs = []
        for o in outputs:
            if isinstance(o, dict):
                outs.append(o)
            else:
                outs.append({"path": os.fspath(o)})
        completion: Dict[str, Any] = {"outputs": outs, "retry_count": int(retry_count)}
        if safety_checker_version:
            completion["safety_checker_version"] = safety_checker_version
        data = encode_json(completion, "completion")
        self._call("fa_tracker_completed", *b_len(rid), *b_len(data))

    def failed(self, request_id: str, error_details: str, retry_count: int = 0) -> None:
        """generation.failed {error_details (never secrets or the prompt), retry_count}."""
        rid = encode_text(request_id, "request_id")
        err = encode_text(error_details, "error_details")
        self._call("fa_tracker_failed", *b_len(rid), *b_len(err), int64(retry_count, "retry_count"))

    def cancelled(self, request_id: str, cancelled_by: str = "", reason: str = "") -> None:
        """generation.cancelled {cancelled_by, reason}."""
        rid = encode_text(request_id, "request_id")
        by = encode_text(cancelled_by, "cancelled_by")
        why = encode_text(reason, "reason")
        self._call("fa_tracker_cancelled", *b_len(rid), *b_len(by), *b_len(why))

    def webhook(self, request_id: str, attempt: int = 1, status: Optional[int] = None, delivered: bool = False,
                *, retry: bool = False, url_host: str = "", error: str = "") -> None:
        """webhook.delivered (delivered=True) or webhook.failed. ``url_host``: the host only, never the URL."""
        rid = encode_text(request_id, "request_id")
        a: Dict[str, Any] = {"attempt": int(attempt), "delivered": bool(delivered), "retry": bool(retry)}
        if status is not None:
            a["status"] = int(status)
        if url_host:
            a["url_host"] = url_host
        if error:
            a["error"] = error
        data = encode_json(a, "webhook attempt")
        self._call("fa_tracker_webhook", *b_len(rid), *b_len(data))

    def sweep(self) -> None:
        """Abandons requests idle longer than abandon_after (generation.abandoned)."""
        self._call("fa_tracker_sweep")

    def state(self, request_id: str) -> Optional[str]:
        """"submitted", "queued", ... or None when the request is unknown or forgotten."""
        from .errors import NotFound
        rid = encode_text(request_id, "request_id")
        try:
            result = self._call_json("fa_tracker_state", *b_len(rid))
        except NotFound:
            return None
        return result.get("state") if isinstance(result, dict) else None

    def stats(self) -> Dict[str, Any]:
        """{active, finished, forgotten, events, anomalies, abandoned, evicted, sink_errors}."""
        return self._call_json("fa_tracker_stats")
