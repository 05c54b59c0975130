# SPDX-License-Identifier: Apache-2.0
"""AuditLogger: the tamper-evident log, through fa_logger_*."""
from __future__ import annotations

import ctypes
import json
import marshal
import os
import threading
from typing import Any, Dict, Optional, Union

from . import _native, errors
from ._handle import Handle, JsonInput, b_len, encode_json

PathLike = Union[str, "os.PathLike[str]"]


# --- marshal: the fast form of a dict event -------------------------------------------------------------------------
# marshal.dumps(event, 4) costs about a fifth of json.dumps for a typical event and the library decodes it without a
# JSON parser (docs/c-api.md §5.3). It is used once a probe showed that this library decodes what this interpreter
# writes exactly as JSON would carry it; otherwise (an older library, a surprise) every event goes as JSON.

_MARSHAL_VERSION = 4
# Refusals of marshal data that the JSON path repeats, so that the exception and its message are JSON's.
_JSON_DECIDES = frozenset({errors.INVALID_ARGUMENT, errors.TOO_LARGE})
_dumps = marshal.dumps
_probe_lock = threading.Lock()
_marshal_usable: Optional[bool] = None


def _probe_event() -> Dict[str, Any]:
    shared = ["shared", 7]
    return {"event_type": "probe.marshal", "ascii": "plain", "text": "h\u00e9llo \u2713 \U0001d11e \x00",
            "empty": "", "small": 1, "negative": -5, "int32_edge": -2 ** 31, "int64": 2 ** 40, "uint64": 2 ** 64 - 1,
            "huge": -2 ** 70, "float": 0.1, "neg_zero": -0.0, "whole": 4.0, "true": True, "false": False,
            "none": None, "list": [1, "x", [2.5, None]], "tuple": (1, (2,)), "nested": {"k": {"v": "w"}},
            "a": shared, "b": shared, "interned": "event_type"}


def marshal_usable(lib: Any) -> bool:
    """True when ``lib`` has fa_logger_log_marshal and decodes this interpreter's marshal data as JSON carries it
    (checked once per process)."""
    global _marshal_usable
    if _marshal_usable is not None:
        return _marshal_usable
    with _probe_lock:
        if _marshal_usable is None:
            _marshal_usable = _probe(lib)
        return _marshal_usable


def _native_lib() -> Any:
    from . import _native
    return _native.load()


def _probe(lib: Any) -> bool:
    from . import _native
    if not all(hasattr(lib, name) for name in _native.OPTIONAL) or lib.fa_abi_version() < 2:
        return False
    event = _probe_event()
    try:
        data = marshal.dumps(event, _MARSHAL_VERSION)
        buf = ctypes.c_void_p()
        size = ctypes.c_size_t()
        lib.fa_event_marshal_to_json(data, len(data), ctypes.byref(buf), ctypes.byref(size))
        decoded = json.loads(_native.take_buffer(lib, buf, size).decode("utf-8"))
        expected = json.loads(json.dumps(event, ensure_ascii=False, allow_nan=False))
        expected["huge"] = float(expected["huge"])  # beyond 64 bits JSON's reader (nlohmann) makes it a double
        # Same values and the same JSON types (an int stays an int, 4.0 a float).
        return decoded == expected and json.dumps(decoded, sort_keys=True) == json.dumps(expected, sort_keys=True)
    except Exception:  # noqa: BLE001 - any surprise means: JSON only
        return False


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

        ``event`` is a dict, or JSON text (str or UTF-8 bytes, passed unchanged). A dict goes as marshal data
        (marshal.dumps(event, 4), fa_logger_log_marshal) when marshal can write it, else as JSON
        (json.dumps(ensure_ascii=False, allow_nan=False)); the record is the same either way. Raises
        InvalidArgument for an event the schema refuses (the message names the member, never its value),
        TooLarge beyond 64 MiB, Closed after close(), Dropped under a lossy overflow policy. A refused event
        leaves the logger usable.
        """
        if type(event) is dict and (_marshal_usable or (_marshal_usable is None and marshal_usable(self._lib))):
            try:
                data = _dumps(event, _MARSHAL_VERSION)
            except ValueError:  # a type marshal cannot write, or deeper than it nests: JSON decides
                data = None
            if data is not None:
                # Handle._call inlined (this is every event's path), its counting lock-free (see Handle._leave_fast):
                # the call is counted in flight unless a destroy is under way (then _call waits for it, and the
                # library answers invalid_handle).
                inflight = self._inflight_fast
                inflight.append(None)
                if not self._closing:
                    try:
                        status = self._lib.fa_logger_log_marshal_status(self._ptr, data, len(data))
                    finally:
                        inflight.pop()
                        if self._closing:
                            with self._lock:
                                self._cv.notify_all()  # a destroy waits for the last call in flight
                    if status == errors.OK:
                        return
                    if status not in _JSON_DECIDES:
                        _native.raise_status(status)
                else:
                    self._leave_fast()
                    try:
                        self._call("fa_logger_log_marshal", data, len(data))
                        return
                    except (errors.InvalidArgument, errors.TooLarge):
                        pass
                # Refused, so nothing was queued: the JSON path decides, and words the error as it always did
                # (json.dumps refuses NaN, bytes or sets before the library sees them).
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
