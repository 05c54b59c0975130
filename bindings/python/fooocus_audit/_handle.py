# SPDX-License-Identifier: Apache-2.0
"""Common machinery of the handle classes: JSON in and out, buffers, and a safe destroy."""
from __future__ import annotations

import ctypes
import json
import os
import threading
from typing import Any, Union

from . import _native, errors

JsonInput = Union[dict, str, bytes, bytearray]

# json.dumps(value, ensure_ascii=False, allow_nan=False) with one encoder made once (json.dumps builds a new
# JSONEncoder per call when given options); encode() keeps no state between calls, so threads may share it.
def _json_default(value: Any) -> Any:
    # Path members (anchor_path=pathlib.Path(...), trusted_key_paths=[Path, ...]) as the strings they stand for.
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        if isinstance(path, str):
            return path
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_json_default)


def encode_json(value: Any, what: str = "value") -> bytes:
    """UTF-8 JSON bytes for a dict (json.dumps, ensure_ascii=False, allow_nan=False) or JSON text as given."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return encode_text(value, what)
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError, RecursionError) as e:
        # The message names the problem (a type, NaN), never a value.
        raise errors.InvalidArgument(f"{what} cannot be encoded as JSON: {e.__class__.__name__}: "
                                     f"{_describe_json_error(e)}") from None
    return encode_text(text, what)


def _describe_json_error(e: BaseException) -> str:
    if isinstance(e, RecursionError):
        return "nested too deeply"
    text = str(e)
    if isinstance(e, TypeError) and text.startswith("Object of type "):
        return text  # "Object of type X is not JSON serializable": a type name only
    if "Out of range float values" in text:
        return "NaN or infinity is not valid JSON"
    return "not JSON-serializable"


def encode_text(value: Union[str, bytes, bytearray, os.PathLike], what: str = "text") -> bytes:
    """UTF-8 bytes of a str (strict: lone surrogates are refused), bytes passed through unchanged."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
        if isinstance(value, bytes):
            return value
    if not isinstance(value, str):
        raise errors.InvalidArgument(f"{what} must be str or bytes, got {type(value).__name__}")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise errors.InvalidArgument(f"{what} is not valid Unicode (lone surrogate)") from None


_INT64_MIN = -(2 ** 63)
_INT64_MAX = 2 ** 63 - 1


def int64(value: Any, what: str) -> int:
    """An int64_t argument: ctypes would silently wrap a value outside the range (2**64 + 3 passed as 3)."""
    try:
        n = int(value)
    except (TypeError, ValueError, OverflowError):
        raise errors.InvalidArgument(f"{what} must be an integer") from None
    if n < _INT64_MIN or n > _INT64_MAX:
        raise errors.InvalidArgument(f"{what} must be in {_INT64_MIN}..{_INT64_MAX}")
    return n


def decode_json(raw: bytes) -> Any:
    return json.loads(raw.decode("utf-8")) if raw else None


class Handle:
    """An opaque C handle with a destroy function.

    Calls pass the raw pointer to the library, which detects a handle used after destroy (tombstones) and
    answers FA_INVALID_HANDLE, raised as :class:`~fooocus_audit.errors.InvalidHandle`. ``close()`` waits
    for calls in flight on other threads before destroying, because a destroy must not race with a call on
    the same handle (fooocus_audit.h).
    """

    _destroy_name = ""

    def __init__(self) -> None:
        self._lib = _native.load()
        self._ptr = ctypes.c_void_p()
        # _call and _borrow take the condition's lock directly (`with lock` costs about half of `with cv`: this is
        # every log call's overhead); waiting and notifying go through the condition, which owns the same lock.
        self._lock = threading.Lock()
        self._cv = threading.Condition(self._lock)
        self._inflight = 0
        # Calls in flight on the lock-free path (AuditLogger.log): one element each. list.append and list.pop are
        # each one atomic operation (under the GIL, and with the list's own lock in free-threaded builds), so this
        # counts without taking the lock (the protocol is described above _leave_fast).
        self._inflight_fast: list = []
        self._closing = False
        self._destroyed = False

    # Every call goes through _call so destroy can wait for it. While a destroy is under way new calls wait for
    # it to finish (so they cannot starve it), then reach the library with the destroyed handle, which the library
    # detects (FA_INVALID_HANDLE).
    def _call(self, name: str, *args: Any) -> Any:
        lock = self._lock
        with lock:
            while self._closing and not self._destroyed:
                self._cv.wait()
            self._inflight += 1
        try:
            return getattr(self._lib, name)(self._ptr, *args)
        finally:
            with lock:
                self._inflight -= 1
                if self._closing and self._inflight == 0:
                    self._cv.notify_all()  # a destroy waits for the last call in flight

    def _borrow(self, use: Any) -> Any:
        """Runs ``use(pointer)`` as a call in flight (also when another object's create takes this handle)."""
        with self._lock:
            while self._closing and not self._destroyed:
                self._cv.wait()
            self._inflight += 1
        try:
            return use(self._ptr)
        finally:
            with self._lock:
                self._inflight -= 1
                if self._closing and self._inflight == 0:
                    self._cv.notify_all()

    # The lock-free form of _call's counting, for the per-event path (AuditLogger.log inlines it): append to
    # _inflight_fast, then read _closing; _destroy sets _closing, then reads len(_inflight_fast) (both under the
    # lock). Whichever of the two comes second sees the other's write: either the destroy waits for this call, or
    # this call sees _closing, takes its element back (_leave_fast) and goes through _call, which waits for the
    # destroy. _leave_fast ends a counted call.
    def _leave_fast(self) -> None:
        self._inflight_fast.pop()
        if self._closing:
            with self._lock:
                self._cv.notify_all()  # a destroy waits for the last call in flight

    def _call_out(self, name: str, *args: Any) -> bytes:
        buf = ctypes.c_void_p()
        size = ctypes.c_size_t()
        self._call(name, *args, ctypes.byref(buf), ctypes.byref(size))
        return _native.take_buffer(self._lib, buf, size)

    def _call_json(self, name: str, *args: Any) -> Any:
        return decode_json(self._call_out(name, *args))

    def _destroy(self) -> None:
        with self._cv:
            if self._closing:  # another thread destroys (or destroyed) it: wait for the end
                while not self._destroyed:
                    self._cv.wait()
                return
            self._closing = True
            if not self._ptr.value:
                self._destroyed = True
                self._cv.notify_all()
                return
            while self._inflight or self._inflight_fast:
                self._cv.wait()
        try:
            getattr(self._lib, self._destroy_name)(self._ptr)
        finally:
            with self._cv:
                self._destroyed = True
                self._cv.notify_all()

    @property
    def closed(self) -> bool:
        """True once close() released the handle."""
        return self._destroyed

    def close(self) -> None:
        """Releases the handle (idempotent). Later calls raise InvalidHandle."""
        self._destroy()

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closing and self._ptr.value:
                self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer (interpreter shutdown included)
            pass


def b_len(data: bytes):  # type: ignore[no-untyped-def]
    """(pointer, length) arguments for a (const char*, size_t) pair; NULL, 0 for empty."""
    return (data if data else None), len(data)
