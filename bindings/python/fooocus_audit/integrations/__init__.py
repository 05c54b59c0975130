# SPDX-License-Identifier: Apache-2.0
"""Audit Fooocus and Fooocus-API in-process, from a launcher, without editing their files.

    from fooocus_audit.integrations import install_from_env; install_from_env()
    import runpy; runpy.run_path("entry_with_update.py", run_name="__main__")   # or Fooocus-API's main.py

or, with objects you configure yourself::

    from fooocus_audit import AuditLogger, PromptSanitizer
    from fooocus_audit.integrations import install
    logger = AuditLogger(dir="/var/log/fooocus-audit", durability="group_commit")
    install(logger, sanitizer=PromptSanitizer({...}), tenant_id="acme_corp")

Every hook catches its own errors, reports them through the ``logging`` module (logger
``fooocus_audit.integrations``; never the prompt or a key) and lets Fooocus continue, unless ``fail_closed``
is set: then a generation whose submission cannot be recorded is refused (GenerationRefused) before it is
queued. docs/fooocus-integration.md describes every hook point and event.
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from typing import Any, Callable, Dict, Optional, Sequence, Union

from ..logger import AuditLogger
from ..registry import ModelVersionRegistry
from ..sanitizer import PromptSanitizer
from ..tracker import GenerationTracker
from . import _core, _importhook, fooocus, fooocus_api
from ._core import GenerationRefused, Integration, api_key_id, url_host

log = logging.getLogger("fooocus_audit.integrations")

_install_lock = threading.Lock()
_owned: Dict[str, Any] = {}
_atexit_registered = False


def _set_atexit() -> None:
    global _atexit_registered
    _atexit_registered = True

CONFIG_ENV = "FOOOCUS_AUDIT_CONFIG"
DIR_ENV = "FOOOCUS_AUDIT_DIR"


def install(logger: AuditLogger, *, tracker: Optional[GenerationTracker] = None,
            sanitizer: Optional[PromptSanitizer] = None, registry: Optional[ModelVersionRegistry] = None,
            tenant_id: Optional[str] = None, user_resolver: Optional[Callable[[Any, Any], Any]] = None,
            worker_id: Optional[str] = None, fail_closed: bool = False,
            safety_checker_version: Optional[str] = None, model_policy: Optional[str] = None,
            register_models: bool = False, registered_by: str = "fooocus_audit.integrations",
            api_key_salt: Optional[bytes] = None, prompt_hash_key: Optional[bytes] = None,
            error_messages: bool = True,
            targets: Sequence[str] = ("fooocus", "fooocus_api")) -> Integration:
    """Hooks Fooocus (modules.async_worker, ...) and Fooocus-API (fooocusapi.task_queue, ...): modules already
    imported are patched now, the others right after their first import. Idempotent: while installed, a second
    call returns the first Integration unchanged (uninstall() first to change the configuration).

    Args:
        logger: where every event goes.
        tracker: the GenerationTracker for the lifecycle events (default: one made on ``logger``, closed by
            uninstall()).
        sanitizer: PromptSanitizer for prompts, negative prompts and error messages. Without one no prompt text
            is logged, only an HMAC of it under ``prompt_hash_key`` (default: a random per-process key).
        registry: ModelVersionRegistry: each generation's base, refiner and LoRAs are checked before it is
            queued (Fooocus) or starts (Fooocus-API); a blocked one is refused.
        tenant_id: written into every event.
        user_resolver: ``f(task, gradio_request_or_None)`` → user id (str) or a dict with user_id, tenant_id,
            session_id, ip_address, user_agent.
        worker_id: generation.started's worker_id (default: the host name).
        fail_closed: refuse a generation (GenerationRefused, nothing queued) when its submission or queueing
            cannot be recorded. Later stages cannot be refused; their failures are reported and counted.
        safety_checker_version: written with safety results.
        model_policy: ``"block"`` or ``"flag"`` passed to the registry's check (default: the registry's).
        register_models: register (or re-verify) every file of modules.config.paths_checkpoints/paths_loras
            with ``registry`` in a background thread (hashes every file: slow, opt-in).
        api_key_salt: key for the API key ids (default: a fixed context string, so ids are stable everywhere).
        error_messages: include exception messages (raw prompts replaced, sanitized, 300 characters at most)
            in generation.failed; False: the exception's class name only.
        targets: "fooocus" and/or "fooocus_api".
    """
    with _install_lock:
        if _core.ACTIVE is not None:
            log.debug("fooocus_audit: already installed; keeping the first configuration")
            return _core.ACTIVE
        integ = Integration(logger, tracker=tracker, sanitizer=sanitizer, registry=registry, tenant_id=tenant_id,
                            user_resolver=user_resolver, worker_id=worker_id, fail_closed=fail_closed,
                            safety_checker_version=safety_checker_version, model_policy=model_policy,
                            register_models=register_models, registered_by=registered_by,
                            api_key_salt=api_key_salt, prompt_hash_key=prompt_hash_key,
                            error_messages=error_messages)
        _core.ACTIVE = integ
        try:
            fooocus.install_shared(integ)
            if "fooocus" in targets:
                fooocus.install(integ)
            if "fooocus_api" in targets:
                fooocus_api.install(integ)
        except Exception:
            _core.ACTIVE = None
            _importhook.cancel_all()
            integ.restore_all()
            raise
        return integ


def install_api(logger: AuditLogger, **kw: Any) -> Integration:
    """install() for Fooocus-API only (its process also imports Fooocus's modules: the safety checker and the
    interrupt are hooked either way)."""
    kw.setdefault("targets", ("fooocus_api",))
    return install(logger, **kw)


def uninstall() -> bool:
    """Restores every patched function and list (pending tasks stay queued) and closes the objects install()
    or install_from_config() made. Hooks already running finish as no-ops. False if nothing was installed."""
    with _install_lock:
        integ = _core.ACTIVE
        if integ is None:
            return False
        _core.ACTIVE = None
        _importhook.cancel_all()
        integ.restore_all()
        for name in ("registry", "sanitizer", "logger"):
            obj = _owned.pop(name, None)
            if obj is not None:
                try:
                    obj.release() if isinstance(obj, AuditLogger) else obj.close()
                except Exception as e:  # noqa: BLE001
                    log.warning("fooocus_audit: closing the %s failed: %s", name, type(e).__name__)
        return True


def installed() -> Optional[Integration]:
    """The active Integration, or None."""
    return _core.ACTIVE


def install_from_config(config: Union[str, "os.PathLike[str]", Dict[str, Any]]) -> Integration:
    """install() with objects made from a JSON configuration (a dict or a file path)::

        {"logger": {"dir": "audit-log", "durability": "group_commit", ...},   # AuditLogger configuration
         "sanitizer": {...} | null,                                         # PromptSanitizer configuration
         "tracker": {...}, "registry": {...} | null,                        # their options
         "tenant_id": "acme", "fail_closed": false, "worker_id": "gpu-1", "safety_checker_version": "...",
         "model_policy": "block", "register_models": false, "error_messages": true,
         "targets": ["fooocus", "fooocus_api"]}

    The objects it makes are closed by uninstall(), which also runs at a normal interpreter exit.
    """
    if not isinstance(config, dict):
        with open(os.fspath(config), "r", encoding="utf-8") as f:
            config = json.load(f)
    cfg = dict(config)
    with _install_lock:
        if _core.ACTIVE is not None:
            return _core.ACTIVE
    logger = AuditLogger(config=cfg.pop("logger", {"dir": "audit-log"}))
    made: Dict[str, Any] = {"logger": logger}
    try:
        sanitizer_cfg = cfg.pop("sanitizer", None)
        sanitizer = PromptSanitizer(sanitizer_cfg) if sanitizer_cfg is not None else None
        if sanitizer is not None:
            made["sanitizer"] = sanitizer
        registry_cfg = cfg.pop("registry", None)
        registry = ModelVersionRegistry(logger, registry_cfg) if registry_cfg is not None else None
        if registry is not None:
            made["registry"] = registry
        tracker_cfg = cfg.pop("tracker", None)
        tracker = GenerationTracker(logger, tracker_cfg) if tracker_cfg is not None else None
        for key in ("api_key_salt", "prompt_hash_key"):
            if isinstance(cfg.get(key), str):
                cfg[key] = cfg[key].encode("utf-8")
        if "targets" in cfg:
            cfg["targets"] = tuple(cfg["targets"])
        integ = install(logger, tracker=tracker, sanitizer=sanitizer, registry=registry, **cfg)
        if tracker is not None:
            integ._own_tracker = True
    except BaseException:
        for obj in reversed(list(made.values())):
            try:
                obj.release() if isinstance(obj, AuditLogger) else obj.close()
            except Exception:  # noqa: BLE001
                pass
        raise
    _owned.update(made)
    if not _atexit_registered:
        atexit.register(uninstall)  # flushes and closes the log at a normal interpreter exit
        _set_atexit()
    return integ


def install_from_env() -> Integration:
    """install_from_config($FOOOCUS_AUDIT_CONFIG) when set, else a logger in $FOOOCUS_AUDIT_DIR (default
    ./audit-log, durability group_commit) without a sanitizer."""
    path = os.environ.get(CONFIG_ENV)
    if path:
        return install_from_config(path)
    return install_from_config({"logger": {"dir": os.environ.get(DIR_ENV, "audit-log"),
                                           "durability": "group_commit"}})


__all__ = ["install", "install_api", "uninstall", "installed", "install_from_config", "install_from_env",
           "Integration", "GenerationRefused", "api_key_id", "url_host"]
