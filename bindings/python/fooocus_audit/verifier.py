# SPDX-License-Identifier: Apache-2.0
"""ChainVerifier: verifies a log directory or segment file (docs/log-format.md §8), through fa_verifier_*."""
from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ._handle import Handle, b_len, encode_json, encode_text


@dataclass(frozen=True)
class VerifyResult:
    """``intact`` is the verdict; ``findings`` lists every problem ({reason, seq, segment, offset, detail});
    ``raw`` is the whole summary of the library (records, ...)."""

    intact: bool
    records: int
    findings: List[Dict[str, Any]] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.intact

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]


class ChainVerifier(Handle):
    """Options (all optional): anchor_path, checkpoint_anchor_paths, trusted_key_paths, mac_key_path,
    expected_log_id, threads, max_findings. Thread-safe."""

    _destroy_name = "fa_verifier_destroy"

    def __init__(self, options: Optional[Dict[str, Any]] = None, **kw: Any) -> None:
        super().__init__()
        opts = dict(options or {})
        opts.update(kw)
        for k, v in list(opts.items()):
            if isinstance(v, os.PathLike):
                opts[k] = os.fspath(v)
        data = encode_json(opts, "verifier options")
        self._lib.fa_verifier_create(*b_len(data), ctypes.byref(self._ptr))

    def verify(self, path: "str | os.PathLike[str]") -> VerifyResult:
        """Verifies ``path``. Returning means the verification ran; ``.intact`` says whether the log is."""
        data = encode_text(path, "path")
        summary = self._call_json("fa_verifier_verify_path", *b_len(data)) or {}
        return VerifyResult(intact=bool(summary.get("intact", False)), records=int(summary.get("records", 0)),
                            findings=list(summary.get("findings", [])), raw=summary)
