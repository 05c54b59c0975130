# SPDX-License-Identifier: Apache-2.0
"""Run a callback right after a module is first imported (before the importer gets it), or now if it already is.

Fooocus builds its UI (and Fooocus-API its routes) at import time and captures some functions then, so a hook
must be applied between the execution of a module and the first ``from module import name``. A finder at the
front of ``sys.meta_path`` wraps the loader of the watched modules only; every other import is untouched.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import threading
from types import ModuleType
from typing import Callable, Dict, List, Optional, Sequence

log = logging.getLogger("fooocus_audit.integrations")

Callback = Callable[[ModuleType], None]


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, finder: "_Finder", name: str) -> None:
        self._inner = inner
        self._finder = finder
        self._name = name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        create = getattr(self._inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        # The module's own loader executes it; __loader__ stays ours only for the time of the import.
        module.__loader__ = self._inner
        if module.__spec__ is not None:
            module.__spec__.loader = self._inner
        self._inner.exec_module(module)  # type: ignore[attr-defined]
        self._finder.fire(self._name, module)

    def __getattr__(self, item: str):  # get_source, get_code, is_package, ... (inspect, linecache)
        return getattr(self._inner, item)


class _Finder(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._callbacks: Dict[str, List[Callback]] = {}
        self._busy = threading.local()

    def watch(self, name: str, callback: Callback) -> None:
        with self._lock:
            self._callbacks.setdefault(name, []).append(callback)

    def clear(self) -> None:
        with self._lock:
            self._callbacks.clear()

    def empty(self) -> bool:
        with self._lock:
            return not self._callbacks

    def fire(self, name: str, module: ModuleType) -> None:
        with self._lock:
            callbacks = self._callbacks.pop(name, [])
        for cb in callbacks:
            try:
                cb(module)
            except Exception as e:  # noqa: BLE001 - a hook must never break the import
                log.warning("fooocus_audit: hook for %s failed: %s", name, type(e).__name__)

    def find_spec(self, fullname: str, path: Optional[Sequence[str]] = None,
                  target: Optional[ModuleType] = None) -> Optional[importlib.machinery.ModuleSpec]:
        with self._lock:
            if fullname not in self._callbacks:
                return None
        busy = getattr(self._busy, "names", None)
        if busy is None:
            busy = self._busy.names = set()
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            busy.discard(fullname)
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader, self, fullname)
        return spec


_finder = _Finder()
_finder_lock = threading.Lock()


def when_imported(name: str, callback: Callback) -> None:
    """Calls ``callback(module)`` now if ``name`` is imported, else right after its first import."""
    module = sys.modules.get(name)
    if module is not None:
        callback(module)
        return
    with _finder_lock:
        _finder.watch(name, callback)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
    # The module may have been imported by another thread in between.
    module = sys.modules.get(name)
    if module is not None:
        _finder.fire(name, module)


def cancel_all() -> None:
    """Forgets every pending callback and removes the finder."""
    with _finder_lock:
        _finder.clear()
        try:
            sys.meta_path.remove(_finder)
        except ValueError:
            pass
