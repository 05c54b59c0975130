# SPDX-License-Identifier: Apache-2.0
"""AuditLogger: the tamper-evident log, through fa_logger_*."""
from __future__ import annotations

import ctypes
import os
from typing import Any, Dict, Optional, Union

from ._handle import Handle, JsonInput, b_len, encode_json

PathLike = Union[str, "os.PathLike[str]"]


class AuditLogger(Handle):
    """Opens (or creates) a log directory and appends events to it.

    ``AuditLogger(dir="audit", durability="always")`` passes ``{"dir": ..., "durability": ...}`` plus any other
    keyword (every LoggerOptions member of docs/c-api.md, e.g. ``mac_key_path``) to ``fa_logger_open``;
    unknown members are refused with InvalidArgument. ``AuditLogger.from_config(dict)`` takes the JSON object
    as is.

    Thread safety: every method may be called from any thread concurrently (the C ABI's guarantee); only
    ``close()``/``release()`` wait for calls in flight.

    Lifetime: ``close()`` flushes and closes the log (later ``log()`` raises Closed, objects made from this
    logger raise Closed when they would write); ``release()`` also frees the handle (later calls raise
    InvalidHandle). Leaving a ``with`` block releases.
    """

    _destroy_name = "fa_logger_destroy"

    def __init__(self, dir: Optional[PathLike] = None, *, durability: Optional[str] = None,
                 config: Optional[Dict[str, Any]] = None, **options: Any) -> None:
        super().__init__()
        cfg: Dict[str, Any] = dict(config or {})
        if dir is not None:
            cfg["dir"] = os.fspath(dir)
        if durability is not None:
            cfg["durability"] = durability
        cfg.update(options)
        self._is_closed = False
        data = encode_json(cfg, "logger configuration")
        self._lib.fa_logger_open(*b_len(data), ctypes.byref(self._ptr))

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "AuditLogger":
        """Opens with the configuration object of docs/c-api.md, unchanged."""
        return cls(config=config)

    def log(self, event: JsonInput) -> None:
        """Validates (docs/events.md), guards (secret detectors) and queues one event.

        ``event`` is a dict (encoded with json.dumps(ensure_ascii=False, allow_nan=False)), or JSON text (str
        or UTF-8 bytes, passed unchanged). Raises InvalidArgument for an event the schema refuses (the message
        names the member, never its value), TooLarge beyond 64 MiB, Closed after close(), Dropped under a lossy
        overflow policy. A refused event leaves the logger usable.
        """
        data = encode_json(event, "event")
        self._call("fa_logger_log", *b_len(data))

    def flush(self) -> None:
        """Returns when every event accepted so far is covered by the durability policy."""
        self._call("fa_logger_flush")

    def stats(self) -> Dict[str, Any]:
        """Counters: accepted, written, durable, dropped, records, ..."""
        return self._call_json("fa_logger_stats")

    def head(self) -> Dict[str, Any]:
        """The anchor of the last durable record, as the anchor file stores it."""
        return self._call_json("fa_logger_head")

    def info(self) -> Dict[str, Any]:
        """{"log_id": ..., "dir": ...}."""
        return self._call_json("fa_logger_info")

    def close(self) -> None:
        """Flushes and closes the log. Idempotent. The handle stays valid until release()."""
        if self._closing or self._destroyed:
            return
        self._call("fa_logger_close")
        self._is_closed = True

    def release(self) -> None:
        """Closes (if needed) and frees the handle. Idempotent."""
        self._destroy()

    @property
    def closed(self) -> bool:
        return self._destroyed or self._is_closed

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __del__(self) -> None:
        try:
            if not self._closing and self._ptr.value:
                self.release()
        except Exception:  # noqa: BLE001
            pass
