# SPDX-License-Identifier: Apache-2.0
"""Hooks into plain Fooocus (lllyasviel/Fooocus 2.5.5), applied by monkeypatching; no Fooocus file is edited.

Hook points (docs/fooocus-integration.md §6 quotes the upstream lines):

- ``modules.async_worker.AsyncTask.__init__``: gives the task a request id and a hooked ``yields`` list.
- ``modules.async_worker.async_tasks``: replaced by a list whose ``append`` (webui.generate_clicked) writes
  generation.submitted + generation.queued and whose ``pop(0)`` (the worker loop) writes generation.started.
- ``task.yields.append(['finish', paths])`` (the worker loop): generation.completed with the output files, or
  generation.failed when an exception is being handled at that moment, or generation.cancelled when
  ``task.last_stop == 'stop'``.
- ``extras.safety_checker.models.safety_checker.StableDiffusionSafetyChecker.forward``: safety_check.completed
  from its ``has_nsfw_concepts``.
- ``ldm_patched.modules.model_management.interrupt_current_processing``: marks the running request interrupted.
- ``modules.config.paths_checkpoints`` / ``paths_loras``: model files for the registry (opt-in).
"""
from __future__ import annotations

import copy
import functools
import logging
import os
import sys
import threading
import weakref
from types import ModuleType
from typing import Any, Callable, Dict, List, Optional

from . import _core, _importhook
from ._core import GenerationRefused, Integration, RequestState, active

log = logging.getLogger("fooocus_audit.integrations")

MODULE_WORKER = "modules.async_worker"
MODULE_SAFETY = "extras.safety_checker.models.safety_checker"
MODULE_MODEL_MANAGEMENT = "ldm_patched.modules.model_management"
MODULE_CONFIG = "modules.config"

REQUEST_ID_ATTR = "fooocus_audit_request_id"
_HOOK_MARK = "__fooocus_audit_hook__"
MODEL_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft", ".gguf")


# --- patching with restore ----------------------------------------------------------------------------------------

def patch_attr(integ: Integration, owner: Any, name: str, make: Callable[[Any], Any]) -> bool:
    """owner.name = make(original), restored by uninstall(); idempotent (an already hooked attribute is kept)."""
    current = getattr(owner, name, None)
    if current is None:
        return False
    if getattr(current, _HOOK_MARK, False):
        return True
    had_own = isinstance(owner, type) and name in vars(owner) or not isinstance(owner, type)
    wrapper = make(current)
    try:
        setattr(wrapper, _HOOK_MARK, True)
    except (AttributeError, TypeError):
        pass
    setattr(owner, name, wrapper)

    def restore() -> None:
        if getattr(owner, name, None) is wrapper or (isinstance(owner, type) and vars(owner).get(name) is wrapper):
            if had_own:
                setattr(owner, name, current)
            else:
                delattr(owner, name)

    integ.on_uninstall(restore)
    return True


# --- the lists ---------------------------------------------------------------------------------------------------

class HookedYields(list):
    """A task's ``yields``: ``append(['finish', ...])`` records the request's outcome first. Copies and pickles
    are plain lists (Gradio deep-copies State values), so no hook state ever travels."""

    __slots__ = ("_task",)

    def __init__(self, items: Any, task: Any) -> None:
        super().__init__(items)
        self._task = weakref.ref(task)

    def append(self, item: Any) -> None:
        integ = active()
        if integ is not None and isinstance(item, (list, tuple)) and len(item) >= 2 and item[0] == "finish":
            task = self._task()
            if task is not None:
                error = sys.exc_info()[1]  # the worker appends 'finish' inside `except:` when handler() raised
                integ.guard("generation outcome", _on_finish, integ, task, item[1], error)
        super().append(item)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (list, (list(self),))

    def __copy__(self) -> List[Any]:
        return list(self)

    def __deepcopy__(self, memo: Dict[int, Any]) -> List[Any]:
        return copy.deepcopy(list(self), memo)


class HookedTasks(list):
    """``modules.async_worker.async_tasks``: append = queued (after submitted), pop(0) = started."""

    __slots__ = ()

    def append(self, task: Any) -> None:
        integ = active()
        if integ is not None:
            # Written before the task is visible to the worker, so queued always precedes started.
            try:
                _on_queue(integ, task, len(self))
            except GenerationRefused:
                raise  # fail_closed or the model registry: nothing is queued
            except Exception as e:  # noqa: BLE001 - never break generate_clicked
                integ.report("generation.queued", e)
        super().append(task)

    def pop(self, index: int = -1) -> Any:  # type: ignore[override]
        task = super().pop(index)
        integ = active()
        if integ is not None and index == 0:
            integ.guard("generation.started", _on_start, integ, task)
        return task

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (list, (list(self),))

    def __copy__(self) -> List[Any]:
        return list(self)

    def __deepcopy__(self, memo: Dict[int, Any]) -> List[Any]:
        return copy.deepcopy(list(self), memo)


def _hook_yields(task: Any) -> None:
    yields = getattr(task, "yields", None)
    if isinstance(yields, list) and not isinstance(yields, HookedYields):
        task.yields = HookedYields(yields, task)


# --- lifecycle -----------------------------------------------------------------------------------------------------

def _on_task_created(integ: Integration, task: Any) -> None:
    if not getattr(task, "args", None):
        return  # webui's gr.State(AsyncTask(args=[])) placeholder: never generated
    if not getattr(task, REQUEST_ID_ATTR, None):
        setattr(task, REQUEST_ID_ATTR, integ.new_request_id())
    _hook_yields(task)


def _submission(integ: Integration, task: Any, request: Any) -> RequestState:
    rid = getattr(task, REQUEST_ID_ATTR, None) or integ.new_request_id()
    setattr(task, REQUEST_ID_ATTR, rid)
    parts = _core.submission_parts(integ, task, (task, request), seed_attr="seed", cfg_attr="cfg_scale")
    config = sys.modules.get(MODULE_CONFIG)
    black_out = bool(getattr(task, "black_out_nsfw", False)) or bool(getattr(config, "default_black_out_nsfw", False))
    parts.request["enable_safety_checker"] = black_out
    return _core.submission_state(parts, task, rid)


def _on_queue(integ: Integration, task: Any, position: int) -> None:
    _hook_yields(task)
    try:
        request = _core.find_gradio_request()
    except Exception:  # noqa: BLE001
        request = None
    state = integ.guard("prompt privacy", _submission, integ, task, request, refusable=True)
    if state is None:
        return  # reported; without fail_closed the generation runs unaudited rather than breaking Fooocus
    integ.remember(state)
    rid = state.request_id
    try:
        if integ.registry is not None:
            allowed = integ.guard("model check", integ.check_models, state, state.models["base"],
                                  state.models["refiner"], state.models["loras"], refusable=True)
            if allowed is False:
                integ.guard("generation.submitted", integ.tracker.submitted, rid, state.models["submission"])
                integ.guard("generation.failed", integ.tracker.failed, rid,
                            "refused: a model is not allowed by the model registry")
                raise GenerationRefused("fooocus_audit: the model registry does not allow a model of this "
                                        "generation (see the model.violation event)")
        integ.guard("generation.submitted", integ.tracker.submitted, rid, state.models["submission"],
                    refusable=True)
        integ.guard("generation.queued", integ.tracker.queued, rid, position, refusable=True)
    except GenerationRefused:
        integ.forget(rid)
        raise


def _on_start(integ: Integration, task: Any) -> None:
    rid = getattr(task, REQUEST_ID_ATTR, None)
    state = integ.get(rid) if rid else None
    if state is None:
        return  # queued before install(): not tracked
    state.started = True
    integ.set_running(rid)
    integ.tracker.started(rid, integ.worker_id)


def _on_finish(integ: Integration, task: Any, product: Any, error: Optional[BaseException]) -> None:
    rid = getattr(task, REQUEST_ID_ATTR, None)
    state = integ.get(rid) if rid else None
    if state is None or state.finished:
        return
    state.finished = True
    try:
        if error is not None and type(error).__name__ != "EarlyReturnException":
            integ.tracker.failed(rid, integ.error_details(error, state))
        elif getattr(task, "last_stop", False) == "stop":
            integ.tracker.cancelled(rid, state.identity.get("user_id", "user"), "stopped by user")
        else:
            paths = _core.existing_files(product if isinstance(product, (list, tuple)) else [])
            outputs: List[Dict[str, Any]] = [{"path": p} for p in paths]
            if state.nsfw and len(state.nsfw) == len(outputs):
                for out, flag in zip(outputs, state.nsfw):
                    out["has_nsfw_concepts"] = flag
            integ.tracker.completed(rid, outputs, safety_checker_version=integ.safety_checker_version)
    finally:
        integ.forget(rid)


# --- installation ----------------------------------------------------------------------------------------------------

def _hook_worker(integ: Integration, module: ModuleType) -> None:
    cls = getattr(module, "AsyncTask", None)
    if cls is not None:
        def make_init(original: Callable[..., None]) -> Callable[..., None]:
            @functools.wraps(original)
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                original(self, *args, **kwargs)
                integ_now = active()
                if integ_now is not None:
                    integ_now.guard("AsyncTask hook", _on_task_created, integ_now, self)
            return __init__
        if patch_attr(integ, cls, "__init__", make_init):
            integ.installed.append("modules.async_worker.AsyncTask.__init__")
    tasks = getattr(module, "async_tasks", None)
    if isinstance(tasks, list):
        if not isinstance(tasks, HookedTasks):
            hooked = HookedTasks(tasks)
            module.async_tasks = hooked

            def restore() -> None:
                if module.async_tasks is hooked:
                    module.async_tasks = list(hooked)  # pending tasks stay queued
            integ.on_uninstall(restore)
        integ.installed.append("modules.async_worker.async_tasks")


def _hook_safety(integ: Integration, module: ModuleType) -> None:
    cls = getattr(module, "StableDiffusionSafetyChecker", None)
    if cls is None:
        return

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(self, *args, **kwargs)
            integ_now = active()
            if integ_now is not None:
                flags = result[1] if isinstance(result, tuple) and len(result) >= 2 else None
                if flags is not None:
                    integ_now.guard("safety_check.completed", integ_now.safety_checked, flags)
            return result
        return forward

    if patch_attr(integ, cls, "forward", make):
        integ.installed.append(f"{MODULE_SAFETY}.StableDiffusionSafetyChecker.forward")


def _hook_interrupt(integ: Integration, module: ModuleType) -> None:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def interrupt_current_processing(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            value = args[0] if args else kwargs.get("value", True)
            integ_now = active()
            if integ_now is not None and value:
                integ_now.guard("interrupt", integ_now.interrupted)
            return result
        return interrupt_current_processing

    if patch_attr(integ, module, "interrupt_current_processing", make):
        integ.installed.append(f"{MODULE_MODEL_MANAGEMENT}.interrupt_current_processing")


def register_models(integ: Integration, config: Optional[ModuleType] = None) -> int:
    """Registers (or re-verifies) every model file under modules.config.paths_checkpoints (kind base) and
    paths_loras (kind lora) with integ.registry; the model id is the path relative to its folder, as Fooocus
    names models. Returns the number of files handled. Slow: every file is hashed."""
    if integ.registry is None:
        return 0
    config = config if config is not None else sys.modules.get(MODULE_CONFIG)
    if config is None:
        return 0
    known = {}
    for m in integ.guard("registry list", integ.registry.models) or []:
        known.setdefault(m.get("model_id"), m.get("version"))
    handled = 0
    for kind, attr in (("base", "paths_checkpoints"), ("lora", "paths_loras")):
        for folder in getattr(config, attr, None) or []:
            if not isinstance(folder, str) or not os.path.isdir(folder):
                continue
            for root, _dirs, files in os.walk(folder):
                for name in sorted(files):
                    if not name.lower().endswith(MODEL_EXTENSIONS):
                        continue
                    full = os.path.join(root, name)
                    model_id = os.path.relpath(full, folder).replace(os.sep, "/")
                    if model_id in known:
                        check = integ.guard("model verify", integ.registry.verify_file, model_id,
                                            known[model_id], full) or {}
                        if check.get("outcome") not in (None, "unchanged"):
                            log.warning("fooocus_audit: model file %s changed since its registration", model_id)
                    else:
                        integ.guard("model.registered", integ.registry.register,
                                    {"model_id": model_id, "version": "1", "kind": kind, "path": full,
                                     "source": f"modules.config.{attr}", "registered_by": integ.registered_by})
                        known[model_id] = "1"
                    handled += 1
    return handled


def _hook_config(integ: Integration, module: ModuleType) -> None:
    if not integ.register_models or integ.registry is None:
        return
    integ.models_thread = threading.Thread(target=register_models, args=(integ, module),
                                           name="fooocus_audit-models", daemon=True)
    integ.models_thread.start()
    integ.installed.append("modules.config.paths_checkpoints/paths_loras")


def install_shared(integ: Integration) -> None:
    """The hooks both flavours need: the safety checker and the interrupt."""
    _importhook.when_imported(MODULE_SAFETY, lambda m: _hook_safety(integ, m))
    _importhook.when_imported(MODULE_MODEL_MANAGEMENT, lambda m: _hook_interrupt(integ, m))
    _importhook.when_imported(MODULE_CONFIG, lambda m: _hook_config(integ, m))


def install(integ: Integration) -> None:
    _importhook.when_imported(MODULE_WORKER, lambda m: _hook_worker(integ, m))
