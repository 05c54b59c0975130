# SPDX-License-Identifier: Apache-2.0
"""ModelVersionRegistry: model and LoRA versions, their lifecycle and generation checks (docs/events.md §7)."""
from __future__ import annotations

import ctypes
import os
from typing import Any, Dict, List, Optional

from ._handle import Handle, JsonInput, b_len, encode_json
from .logger import AuditLogger


class ModelVersionRegistry(Handle):
    """Rebuilt from the log ``logger`` writes (verifying it); every change is a model.* / lora.* event.

    Thread-safe. Registering hashes the file (streaming SHA-256: about 1 s per 2 GB from the page cache).
    """

    _destroy_name = "fa_registry_destroy"

    def __init__(self, logger: AuditLogger, options: Optional[Dict[str, Any]] = None, **kw: Any) -> None:
        super().__init__()
        self._logger = logger
        opts = dict(options or {})
        opts.update(kw)
        data = encode_json(opts, "registry options")
        logger._borrow(lambda lg: self._lib.fa_registry_open(lg, *b_len(data), ctypes.byref(self._ptr)))

    def register(self, registration: Optional[JsonInput] = None, **kw: Any) -> Dict[str, Any]:
        """{model_id, version, kind, path | sha256, source, registered_by, ...} → the ModelVersion."""
        reg = _merge(registration, kw)
        if isinstance(reg, dict) and "path" in reg:
            reg["path"] = os.fspath(reg["path"])
        return self._call_json("fa_registry_register", *b_len(encode_json(reg, "registration")))

    def approve(self, transition: Optional[JsonInput] = None, **kw: Any) -> None:
        """{model_id, version, actor, reason}."""
        self._call("fa_registry_approve", *b_len(encode_json(_merge(transition, kw), "transition")))

    def deprecate(self, transition: Optional[JsonInput] = None, **kw: Any) -> None:
        self._call("fa_registry_deprecate", *b_len(encode_json(_merge(transition, kw), "transition")))

    def revoke(self, transition: Optional[JsonInput] = None, **kw: Any) -> None:
        self._call("fa_registry_revoke", *b_len(encode_json(_merge(transition, kw), "transition")))

    def record_lora_training(self, training: Optional[JsonInput] = None, **kw: Any) -> None:
        """lora.trained: {lora_id, version, dataset_id, trained_by, parameters, ...}."""
        self._call("fa_registry_record_lora_training", *b_len(encode_json(_merge(training, kw), "training")))

    def verify_file(self, model_id: str, version: str, path: "str | os.PathLike[str]") -> Dict[str, Any]:
        """Re-hashes a registered file → the FileCheck (outcome unchanged | modified | missing)."""
        req = {"model_id": model_id, "version": version, "path": os.fspath(path)}
        return self._call_json("fa_registry_verify_file", *b_len(encode_json(req, "file")))

    def check_generation(self, generation: Optional[JsonInput] = None, **kw: Any) -> Dict[str, Any]:
        """{request_id, base: {model_id, version?, path?}, refiner, loras: [{model_id, weight}], user_id} →
        the GenerationDecision {allowed, violations, resolved}; writes model.violation / lora.used."""
        return self._call_json("fa_registry_check_generation",
                               *b_len(encode_json(_merge(generation, kw), "generation")))

    def models(self) -> List[Dict[str, Any]]:
        """Every ModelVersion."""
        result = self._call_json("fa_registry_list") or {}
        return list(result.get("models", []))


def _merge(base: Optional[JsonInput], kw: Dict[str, Any]) -> JsonInput:
    if base is None:
        return dict(kw)
    if kw:
        if not isinstance(base, dict):
            from .errors import InvalidArgument
            raise InvalidArgument("keyword members can only be combined with a dict")
        merged = dict(base)
        merged.update(kw)
        return merged
    return dict(base) if isinstance(base, dict) else base
