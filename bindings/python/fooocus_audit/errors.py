# SPDX-License-Identifier: Apache-2.0
"""Status codes of the C ABI (``fooocus_audit.h``) and the exceptions they become.

Every failing call raises a subclass of :class:`FooocusAuditError` carrying the frozen numeric ``code``, its
name (``fa_strerror``) and the library's message for this thread (``fa_last_error``). Messages never contain
secrets or the raw values of sensitive fields: the library guarantees it, and the Python side only adds the
names of members, never their values.
"""
from __future__ import annotations

from typing import Dict, Optional, Type

# Frozen forever (fooocus_audit.h): values never change and are never reused.
OK = 0
INVALID_ARGUMENT = 1
IO_ERROR = 2
LOCKED = 3
CORRUPTION = 4
CLOSED = 5
DROPPED = 6
TOO_LARGE = 7
NOT_FOUND = 8
INTERNAL = 9
INVALID_HANDLE = 10
NO_MEMORY = 11

CODE_NAMES: Dict[int, str] = {
    OK: "ok",
    INVALID_ARGUMENT: "invalid_argument",
    IO_ERROR: "io_error",
    LOCKED: "locked",
    CORRUPTION: "corruption",
    CLOSED: "closed",
    DROPPED: "dropped",
    TOO_LARGE: "too_large",
    NOT_FOUND: "not_found",
    INTERNAL: "internal",
    INVALID_HANDLE: "invalid_handle",
    NO_MEMORY: "no_memory",
}


class FooocusAuditError(Exception):
    """Base of every error raised by this package.

    Attributes:
        code: the C ABI status code (``FA_*``), e.g. 1 for invalid_argument.
        code_name: its name, e.g. ``"invalid_argument"``.
        message: what went wrong (never a secret or a raw sensitive value).
    """

    code: int = INTERNAL

    def __init__(self, message: str = "", code: Optional[int] = None, code_name: Optional[str] = None) -> None:
        if code is not None:
            self.code = code
        self.code_name = code_name if code_name is not None else CODE_NAMES.get(self.code, "unknown")
        self.message = message
        super().__init__(f"{self.code_name}: {message}" if message else self.code_name)


class InvalidArgument(FooocusAuditError, ValueError):
    """Bad input: invalid JSON or UTF-8, a member the schema refuses, a value that cannot be encoded."""

    code = INVALID_ARGUMENT


class LogIOError(FooocusAuditError, OSError):
    """The operating system refused a read, write or fsync."""

    code = IO_ERROR


class Locked(FooocusAuditError):
    """Another writer holds the log directory."""

    code = LOCKED


class Corruption(FooocusAuditError):
    """On-disk data is damaged where it must be read."""

    code = CORRUPTION


class Closed(FooocusAuditError):
    """The logger (or the logger an object was made from) is closed."""

    code = CLOSED


class Dropped(FooocusAuditError):
    """Lossy overflow policy: the event was not accepted (a gap record says how many were lost)."""

    code = DROPPED


class TooLarge(FooocusAuditError, ValueError):
    """Input larger than the configured or built-in limit (64 MiB of JSON, 64 levels of nesting)."""

    code = TOO_LARGE


class NotFound(FooocusAuditError, LookupError):
    """A file, directory, request or model version does not exist."""

    code = NOT_FOUND


class InternalError(FooocusAuditError):
    """A bug in the library: please report it."""

    code = INTERNAL


class InvalidHandle(FooocusAuditError):
    """NULL, wrong kind, or already destroyed handle (the object was closed)."""

    code = INVALID_HANDLE


class NoMemory(FooocusAuditError, MemoryError):
    """An allocation failed."""

    code = NO_MEMORY


EXCEPTIONS: Dict[int, Type[FooocusAuditError]] = {
    INVALID_ARGUMENT: InvalidArgument,
    IO_ERROR: LogIOError,
    LOCKED: Locked,
    CORRUPTION: Corruption,
    CLOSED: Closed,
    DROPPED: Dropped,
    TOO_LARGE: TooLarge,
    NOT_FOUND: NotFound,
    INTERNAL: InternalError,
    INVALID_HANDLE: InvalidHandle,
    NO_MEMORY: NoMemory,
}


def error_for(code: int, message: str, code_name: Optional[str] = None) -> FooocusAuditError:
    """The exception for a status code; an unknown code gives the base class with that code."""
    cls = EXCEPTIONS.get(code)
    if cls is None:
        return FooocusAuditError(message, code=code, code_name=code_name or "unknown")
    return cls(message, code_name=code_name)


__all__ = [
    "FooocusAuditError", "InvalidArgument", "LogIOError", "Locked", "Corruption", "Closed", "Dropped",
    "TooLarge", "NotFound", "InternalError", "InvalidHandle", "NoMemory", "error_for", "CODE_NAMES",
]
