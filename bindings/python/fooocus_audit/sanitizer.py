# SPDX-License-Identifier: Apache-2.0
"""PromptSanitizer: PII and secret redaction with keyed prompt hashes (docs/privacy.md), through fa_sanitizer_*."""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from ._handle import Handle, b_len, encode_json, encode_text

Text = Union[str, bytes]


@dataclass(frozen=True)
class SanitizeResult:
    """The sanitized text, the keyed hash of the raw text, and the findings (type, span, detector, ...;
    never the raw values). ``raw`` is the whole result object of the library."""

    text: str
    prompt_hash: str
    findings: List[Dict[str, Any]] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:  # dict-style access: result["text"]
        return self.raw[key]


class PromptSanitizer(Handle):
    """Redacts PII and secrets from prompts and hashes them (HMAC-SHA256 under the tenant key by default).

    ``config`` is the SanitizerConfig JSON object of docs/privacy.md §2 (None: the library's defaults).
    Thread-safe.
    """

    _destroy_name = "fa_sanitizer_destroy"

    def __init__(self, config: Optional[Dict[str, Any]] = None, **kw: Any) -> None:
        super().__init__()
        cfg = dict(config or {})
        cfg.update(kw)
        data = encode_json(cfg, "sanitizer configuration")
        self._lib.fa_sanitizer_create(*b_len(data), ctypes.byref(self._ptr))

    def sanitize(self, text: Text) -> SanitizeResult:
        """Sanitizes one prompt. Invalid UTF-8 (bytes) raises InvalidArgument unless configured otherwise."""
        data = encode_text(text, "text")
        result = self._call_json("fa_sanitizer_sanitize", *b_len(data)) or {}
        return SanitizeResult(text=result.get("text", ""), prompt_hash=result.get("prompt_hash", ""),
                              findings=list(result.get("findings", [])), raw=result)

    def prompt_hash(self, text: Text) -> str:
        """"hmac-sha256:<hex>" (keyed, default) or "sha256:<hex>", as configured."""
        data = encode_text(text, "text")
        return self._call_out("fa_sanitizer_prompt_hash", *b_len(data)).decode("utf-8")

    def reveal(self, token: Text) -> str:
        """The plaintext of an encrypted span or field, for investigators holding the key."""
        data = encode_text(token, "token")
        return self._call_out("fa_sanitizer_reveal", *b_len(data)).decode("utf-8", "replace")
