# SPDX-License-Identifier: Apache-2.0
"""Finding and loading libfooocus_audit_c, and the one table of its prototypes.

Discovery order (the first library that loads wins):

1. the environment variable ``FOOOCUS_AUDIT_LIBRARY``: a path to the library. When it is set, nothing else is
   tried, so a wrong path is an error rather than a silent fall-back to another copy;
2. the package's own folder: ``libfooocus_audit_c.so*`` (``.dylib``, ``.dll``) next to this file;
3. the system: ``ctypes.util.find_library("fooocus_audit_c")``, then the soname ``libfooocus_audit_c.so.1``,
   ``libfooocus_audit_c.so.0`` and ``libfooocus_audit_c.so`` through the dynamic loader's search path
   (``LD_LIBRARY_PATH``, ld.so.cache).

When nothing loads, :class:`LibraryNotFoundError` (an ``ImportError``) lists every candidate and why it failed.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import sys
import threading
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple

from . import errors

ENV_VAR = "FOOOCUS_AUDIT_LIBRARY"
#: The C ABI version this package was written for (FA_ABI_VERSION in fooocus_audit.h).
REQUIRED_ABI_VERSION = 1

_c_int = ctypes.c_int
_c_size = ctypes.c_size_t
_c_void_p = ctypes.c_void_p
_c_char_p = ctypes.c_char_p
_c_int64 = ctypes.c_int64
_p_handle = ctypes.POINTER(ctypes.c_void_p)
_p_buf = ctypes.POINTER(ctypes.c_void_p)  # char** out: kept as void* so fa_free gets the very pointer
_p_size = ctypes.POINTER(ctypes.c_size_t)


class LibraryNotFoundError(ImportError):
    """libfooocus_audit_c could not be loaded; ``tried`` lists (candidate, reason) pairs."""

    def __init__(self, message: str, tried: Sequence[Tuple[str, str]]) -> None:
        super().__init__(message)
        self.tried = list(tried)


class LibraryVersionError(ImportError):
    """The library loaded but is older than this package (a missing symbol or a lower ABI version)."""


def raise_status(status: int) -> None:
    """Raises the exception for a status other than OK, with the library's thread-local message."""
    _raise_status(status)


def _raise_status(status: int) -> None:
    lib = _LIB
    message = ""
    name = None
    if lib is not None:
        raw = lib.fa_last_error()
        message = raw.decode("utf-8", "replace") if raw else ""
        raw_name = lib.fa_strerror(status)
        name = raw_name.decode("ascii", "replace") if raw_name else None
    raise errors.error_for(status, message, name)


def _check_status(result: int, func: Any, args: Any) -> int:
    if result != errors.OK:
        _raise_status(result)
    return result


# (name, argtypes, restype, errcheck): every function of fooocus_audit.h, declared once.
PROTOTYPES: List[Tuple[str, List[Any], Any, Optional[Callable[..., Any]]]] = [
    ("fa_strerror", [_c_int], _c_char_p, None),
    ("fa_last_error", [], _c_char_p, None),
    ("fa_version", [], _c_char_p, None),
    ("fa_abi_version", [], _c_int, None),
    ("fa_free", [_c_void_p], None, None),
    # AuditLogger
    ("fa_logger_open", [_c_char_p, _c_size, _p_handle], _c_int, _check_status),
    ("fa_logger_log", [_c_void_p, _c_char_p, _c_size], _c_int, _check_status),
    ("fa_logger_log_marshal", [_c_void_p, _c_char_p, _c_size], _c_int, _check_status),
    ("fa_event_marshal_to_json", [_c_char_p, _c_size, _p_buf, _p_size], _c_int, _check_status),
    ("fa_logger_flush", [_c_void_p], _c_int, _check_status),
    ("fa_logger_close", [_c_void_p], _c_int, _check_status),
    ("fa_logger_stats", [_c_void_p, _p_buf, _p_size], _c_int, _check_status),
    ("fa_logger_head", [_c_void_p, _p_buf, _p_size], _c_int, _check_status),
    ("fa_logger_info", [_c_void_p, _p_buf, _p_size], _c_int, _check_status),
    ("fa_logger_destroy", [_c_void_p], None, None),
    # GenerationTracker
    ("fa_tracker_create", [_c_void_p, _c_char_p, _c_size, _p_handle], _c_int, _check_status),
    ("fa_tracker_submitted", [_c_void_p, _c_char_p, _c_size, _c_char_p, _c_size], _c_int, _check_status),
    ("fa_tracker_queued", [_c_void_p, _c_char_p, _c_size, _c_int64], _c_int, _check_status),
    ("fa_tracker_started", [_c_void_p, _c_char_p, _c_size, _c_char_p, _c_size], _c_int, _check_status),
    ("fa_tracker_completed", [_c_void_p, _c_char_p, _c_size, _c_char_p, _c_size], _c_int, _check_status),
    ("fa_tracker_failed", [_c_void_p, _c_char_p, _c_size, _c_char_p, _c_size, _c_int64], _c_int, _check_status),
    ("fa_tracker_cancelled", [_c_void_p, _c_char_p, _c_size, _c_char_p, _c_size, _c_char_p, _c_size], _c_int,
     _check_status),
    ("fa_tracker_webhook", [_c_void_p, _c_char_p, _c_size, _c_char_p, _c_size], _c_int, _check_status),
    ("fa_tracker_sweep", [_c_void_p], _c_int, _check_status),
    ("fa_tracker_state", [_c_void_p, _c_char_p, _c_size, _p_buf, _p_size], _c_int, _check_status),
    ("fa_tracker_stats", [_c_void_p, _p_buf, _p_size], _c_int, _check_status),
    ("fa_tracker_destroy", [_c_void_p], None, None),
    # PromptSanitizer
    ("fa_sanitizer_create", [_c_char_p, _c_size, _p_handle], _c_int, _check_status),
    ("fa_sanitizer_sanitize", [_c_void_p, _c_char_p, _c_size, _p_buf, _p_size], _c_int, _check_status),
    ("fa_sanitizer_prompt_hash", [_c_void_p, _c_char_p, _c_size, _p_buf, _p_size], _c_int, _check_status),
    ("fa_sanitizer_reveal", [_c_void_p, _c_char_p, _c_size, _p_buf, _p_size], _c_int, _check_status),
    ("fa_sanitizer_destroy", [_c_void_p], None, None),
    # ModelVersionRegistry
    ("fa_registry_open", [_c_void_p, _c_char_p, _c_size, _p_handle], _c_int, _check_status),
    ("fa_registry_register", [_c_void_p, _c_char_p, _c_size, _p_buf, _p_size], _c_int, _check_status),
    ("fa_registry_approve", [_c_void_p, _c_char_p, _c_size], _c_int, _check_status),
    ("fa_registry_deprecate", [_c_void_p, _c_char_p, _c_size], _c_int, _check_status),
    ("fa_registry_revoke", [_c_void_p, _c_char_p, _c_size], _c_int, _check_status),
    ("fa_registry_record_lora_training", [_c_void_p, _c_char_p, _c_size], _c_int, _check_status),
    ("fa_registry_verify_file", [_c_void_p, _c_char_p, _c_size, _p_buf, _p_size], _c_int, _check_status),
    ("fa_registry_check_generation", [_c_void_p, _c_char_p, _c_size, _p_buf, _p_size], _c_int, _check_status),
    ("fa_registry_list", [_c_void_p, _p_buf, _p_size], _c_int, _check_status),
    ("fa_registry_destroy", [_c_void_p], None, None),
    # ChainVerifier
    ("fa_verifier_create", [_c_char_p, _c_size, _p_handle], _c_int, _check_status),
    ("fa_verifier_verify_path", [_c_void_p, _c_char_p, _c_size, _p_buf, _p_size], _c_int, _check_status),
    ("fa_verifier_destroy", [_c_void_p], None, None),
]


#: Functions added after C ABI version 1: a library without them still binds (the package then takes the paths
#: that do not need them; AuditLogger.log sends JSON).
OPTIONAL = frozenset({"fa_logger_log_marshal", "fa_event_marshal_to_json"})


def _package_dir() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def candidates(environ: Optional[Mapping[str, str]] = None, package_dir: Optional[str] = None) -> List[str]:
    """The libraries discovery tries, in order (see the module docstring)."""
    env = os.environ if environ is None else environ
    explicit = env.get(ENV_VAR)
    if explicit:
        return [explicit]
    folder = package_dir if package_dir is not None else _package_dir()
    found: List[str] = []
    for pattern in ("libfooocus_audit_c.so*", "libfooocus_audit_c*.dylib", "fooocus_audit_c*.dll"):
        found.extend(sorted(glob.glob(os.path.join(folder, pattern))))
    system = ctypes.util.find_library("fooocus_audit_c")
    if system:
        found.append(system)
    if sys.platform == "darwin":
        found += ["libfooocus_audit_c.1.dylib", "libfooocus_audit_c.dylib"]
    elif sys.platform == "win32":
        found += ["fooocus_audit_c.dll"]
    else:
        # The soname (SOVERSION 1: the C ABI's generation), a .so.0 some packagers use, the development link.
        found += ["libfooocus_audit_c.so.1", "libfooocus_audit_c.so.0", "libfooocus_audit_c.so"]
    unique: List[str] = []
    for c in found:
        if c not in unique:
            unique.append(c)
    return unique


def find_and_load(environ: Optional[Mapping[str, str]] = None,
                  package_dir: Optional[str] = None) -> Tuple[ctypes.CDLL, str]:
    """Loads the first candidate that the dynamic loader accepts; raises LibraryNotFoundError otherwise."""
    env = os.environ if environ is None else environ
    tried: List[Tuple[str, str]] = []
    for candidate in candidates(env, package_dir):
        try:
            return ctypes.CDLL(candidate), candidate
        except OSError as e:
            tried.append((candidate, str(e) or e.__class__.__name__))
    lines = "\n".join(f"  - {c}: {why}" for c, why in tried)
    if env.get(ENV_VAR):
        hint = (f"{ENV_VAR} is set, so nothing else was tried: point it at libfooocus_audit_c.so (built by the "
                f"CMake target fooocus_audit_c) or unset it to search the package folder and the system.")
    else:
        hint = (f"Set {ENV_VAR} to the library's path (the CMake target fooocus_audit_c builds "
                f"libfooocus_audit_c.so), copy it into {package_dir or _package_dir()}, or install it where the "
                f"dynamic loader finds it (LD_LIBRARY_PATH, ldconfig).")
    raise LibraryNotFoundError(f"fooocus_audit: cannot load libfooocus_audit_c. Tried:\n{lines}\n{hint}", tried)


def bind(lib: ctypes.CDLL, path: str = "") -> ctypes.CDLL:
    """Registers PROTOTYPES on ``lib`` and checks the ABI version; LibraryVersionError when it is too old."""
    missing = [name for name, _, _, _ in PROTOTYPES if name not in OPTIONAL and not hasattr(lib, name)]
    if missing:
        raise LibraryVersionError(
            f"fooocus_audit: {path or lib} lacks {', '.join(missing)}: the library is older than this package "
            f"(which needs C ABI version >= {REQUIRED_ABI_VERSION}); rebuild or reinstall libfooocus_audit_c")
    for name, argtypes, restype, errcheck in PROTOTYPES:
        if name in OPTIONAL and not hasattr(lib, name):
            continue
        fn = getattr(lib, name)
        fn.argtypes = argtypes
        fn.restype = restype
        if errcheck is not None:
            fn.errcheck = errcheck
    # AuditLogger.log's marshal path checks the status itself: a second function object for the same symbol,
    # without errcheck, saves a Python call per event (and a failed call goes on to the JSON path anyway).
    if hasattr(lib, "fa_logger_log_marshal"):
        raw = lib["fa_logger_log_marshal"]  # __getitem__ makes a new function object, not the cached attribute
        raw.argtypes = [_c_void_p, _c_char_p, _c_size]
        raw.restype = _c_int
        lib.fa_logger_log_marshal_status = raw
    abi = lib.fa_abi_version()
    if abi < REQUIRED_ABI_VERSION:
        raise LibraryVersionError(
            f"fooocus_audit: {path or lib} has C ABI version {abi}; this package needs >= {REQUIRED_ABI_VERSION}")
    return lib


_LIB: Optional[ctypes.CDLL] = None
_LIB_PATH: str = ""
_load_lock = threading.Lock()


def load() -> ctypes.CDLL:
    """The process-wide library, loaded and bound on first use (import of the package)."""
    global _LIB, _LIB_PATH
    with _load_lock:
        if _LIB is None:
            lib, path = find_and_load()
            _LIB = bind(lib, path)
            _LIB_PATH = path
        return _LIB


def library_path() -> str:
    """The path (or name) the library was loaded from."""
    load()
    return _LIB_PATH


# --- helpers shared by the classes --------------------------------------------------------------------------------

def take_buffer(lib: ctypes.CDLL, ptr: ctypes.c_void_p, size: ctypes.c_size_t) -> bytes:
    """Copies a library-allocated buffer and releases it with fa_free."""
    try:
        if not ptr.value:
            return b""
        return ctypes.string_at(ptr.value, size.value)
    finally:
        if ptr.value:
            lib.fa_free(ptr)
