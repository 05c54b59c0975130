# SPDX-License-Identifier: Apache-2.0
"""fooocus_audit: tamper-evident audit logging for Fooocus, through the library's C ABI (ctypes, no compiled
extension).

    from fooocus_audit import AuditLogger
    with AuditLogger(dir="audit-log", durability="always") as log:
        log.log({"event_type": "generation.failed", "request_id": "req_1", "error_details": "CUDA OOM"})

Importing the package loads libfooocus_audit_c (see :mod:`fooocus_audit._native` for where it is searched);
if it cannot be loaded, the ImportError lists every place tried.
"""
from __future__ import annotations

from . import _native
from .errors import (Closed, Corruption, Dropped, FooocusAuditError, InternalError, InvalidArgument,
                     InvalidHandle, Locked, LogIOError, NoMemory, NotFound, TooLarge)

_native.load()

from .logger import AuditLogger  # noqa: E402
from .registry import ModelVersionRegistry  # noqa: E402
from .sanitizer import PromptSanitizer, SanitizeResult  # noqa: E402
from .tracker import GenerationTracker  # noqa: E402
from .verifier import ChainVerifier, VerifyResult  # noqa: E402

__version__ = "0.1.0"


def library_version() -> str:
    """fa_version() of the loaded library."""
    return _native.load().fa_version().decode("ascii")


def abi_version() -> int:
    """fa_abi_version() of the loaded library."""
    return int(_native.load().fa_abi_version())


def library_path() -> str:
    """Where the library was loaded from."""
    return _native.library_path()


__all__ = [
    "AuditLogger", "GenerationTracker", "PromptSanitizer", "SanitizeResult", "ModelVersionRegistry",
    "ChainVerifier", "VerifyResult", "FooocusAuditError", "InvalidArgument", "LogIOError", "Locked",
    "Corruption", "Closed", "Dropped", "TooLarge", "NotFound", "InternalError", "InvalidHandle", "NoMemory",
    "library_version", "abi_version", "library_path", "__version__",
]
