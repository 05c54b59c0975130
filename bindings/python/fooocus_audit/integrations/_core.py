# SPDX-License-Identifier: Apache-2.0
"""The state shared by the Fooocus and Fooocus-API hooks: requests in flight, prompt privacy, safe emission."""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import socket
import sys
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..errors import FooocusAuditError
from ..logger import AuditLogger
from ..registry import ModelVersionRegistry
from ..sanitizer import PromptSanitizer
from ..tracker import GenerationTracker

log = logging.getLogger("fooocus_audit.integrations")

MAX_SAFE_INT = 2 ** 53 - 1
_KEY_ID_CONTEXT = b"fooocus_audit apikey id v1"


#: The Integration install() made, or None. Hooks look it up on every call, so uninstall() turns them off at once.
ACTIVE: "Optional[Integration]" = None


def active() -> "Optional[Integration]":
    return ACTIVE


class GenerationRefused(RuntimeError):
    """Raised in the submitting thread when a generation must not run: ``fail_closed=True`` and the audit log
    cannot record it, or the model registry blocks one of its models. Nothing was queued."""


def api_key_id(key: str, salt: Optional[bytes] = None) -> str:
    """The identifier logged for an API key: ``key_`` + 16 hex digits of HMAC-SHA256(salt, key).

    Derived, never reversible, stable for a given key and salt (so an operator holding a key can compute its
    id), and short enough to pass the schema's key-material rule (docs/events.md §6.5).
    """
    mac = hmac.new(salt if salt else _KEY_ID_CONTEXT, key.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return "key_" + mac.hexdigest()[:16]


_HOST_RE = re.compile(r"^(?:[A-Za-z0-9._-]{1,253}|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def url_host(url: str) -> str:
    """The host[:port] of a URL, without scheme, user, path or query (they may hold tokens); "" if unusable."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return ""
    if not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    value = f"{host}:{port}" if port else host
    return value if _HOST_RE.match(value) else ""


def _text(value: Any) -> str:
    value = getattr(value, "value", value)  # enums (Performance.SPEED) → their value
    return value if isinstance(value, str) else ("" if value is None else str(value))


_ASPECT_RE = re.compile(r"(\d+)\s*[×xX*]\s*(\d+)")


def aspect_ratio(value: Any) -> str:
    """'1152×896 <span>…</span>' or '1152*896' → '1152x896'."""
    m = _ASPECT_RE.search(_text(value))
    return f"{m.group(1)}x{m.group(2)}" if m else ""


def seed_value(value: Any) -> Any:
    try:
        seed = int(value)
    except (TypeError, ValueError):
        return None
    if seed < 0:
        return None
    return seed if seed <= MAX_SAFE_INT else str(seed)


def _number(value: Any) -> Optional[float]:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


def lora_list(loras: Any) -> List[Dict[str, Any]]:
    """[(name, weight)] or [(enabled, name, weight)] or [{model_name, weight}] → [{name, weight}] (enabled only)."""
    out: List[Dict[str, Any]] = []
    for item in loras or []:
        name: Any = None
        weight: Any = None
        enabled = True
        if isinstance(item, dict):
            name = item.get("model_name", item.get("name"))
            weight = item.get("weight")
        elif isinstance(item, (list, tuple)):
            if len(item) == 3:
                enabled, name, weight = item
            elif len(item) == 2:
                name, weight = item
        else:
            name = getattr(item, "model_name", None)
            weight = getattr(item, "weight", None)
        if not enabled or not name or name == "None":
            continue
        entry: Dict[str, Any] = {"name": str(name)}
        w = _number(weight)
        if w is not None:
            entry["weight"] = w
        out.append(entry)
    return out


@dataclass
class RequestState:
    """What the hooks remember about one request between its events (in memory only)."""

    request_id: str
    prompt_hash: str = ""
    identity: Dict[str, str] = field(default_factory=dict)  # user_id, tenant_id, session_id, ip, user agent
    secrets_to_scrub: Tuple[str, ...] = ()                  # raw prompts: removed from error messages
    nsfw: List[bool] = field(default_factory=list)
    interrupted: bool = False
    started: bool = False
    finished: bool = False
    models: Dict[str, Any] = field(default_factory=dict)


class Integration:
    """Everything install() set up: the objects the hooks write through and the requests in flight.

    Attributes ``hook_errors`` (count of audit failures the hooks swallowed) and ``installed`` (names of the
    hook points applied) are for monitoring and tests.
    """

    def __init__(self, logger: AuditLogger, *, tracker: Optional[GenerationTracker] = None,
                 sanitizer: Optional[PromptSanitizer] = None, registry: Optional[ModelVersionRegistry] = None,
                 tenant_id: Optional[str] = None,
                 user_resolver: Optional[Callable[[Any, Any], Any]] = None,
                 worker_id: Optional[str] = None, fail_closed: bool = False,
                 safety_checker_version: Optional[str] = None, model_policy: Optional[str] = None,
                 register_models: bool = False, registered_by: str = "fooocus_audit.integrations",
                 api_key_salt: Optional[bytes] = None, prompt_hash_key: Optional[bytes] = None,
                 error_messages: bool = True) -> None:
        self.logger = logger
        self._own_tracker = tracker is None
        self.tracker = tracker if tracker is not None else GenerationTracker(logger)
        self.sanitizer = sanitizer
        self.registry = registry
        self.tenant_id = tenant_id
        self.user_resolver = user_resolver
        self.worker_id = worker_id if worker_id is not None else socket.gethostname()
        self.fail_closed = fail_closed
        self.safety_checker_version = safety_checker_version
        self.model_policy = model_policy
        self.register_models = register_models
        self.registered_by = registered_by
        self.api_key_salt = api_key_salt
        self.error_messages = error_messages
        # Without a PromptSanitizer (or when it fails) the prompt text is not logged at all, and its hash is keyed
        # with prompt_hash_key (or a per-process random key: hashes then only correlate within this process).
        self._prompt_key = prompt_hash_key if prompt_hash_key else secrets.token_bytes(32)
        self.api_lock = threading.Lock()
        self._webhook_attempts: Dict[str, int] = {}
        self.hook_errors = 0
        self.installed: List[str] = []
        self.models_thread: Optional[threading.Thread] = None
        self._lock = threading.RLock()
        self._requests: Dict[str, RequestState] = {}
        self._running: Dict[int, str] = {}  # worker thread id → request_id
        self._local = threading.local()
        self._restore: List[Callable[[], None]] = []

    # --- safe emission ---------------------------------------------------------------------------------------

    def report(self, what: str, error: BaseException) -> None:
        """Counts and logs an audit failure; never the prompt or a key (FooocusAuditError messages are safe)."""
        with self._lock:
            self.hook_errors += 1
        detail = f"{error.code_name}: {error.message}" if isinstance(error, FooocusAuditError) else ""
        log.warning("fooocus_audit: %s failed (%s%s); Fooocus continues", what, type(error).__name__,
                    f", {detail}" if detail else "")

    def guard(self, what: str, fn: Callable[..., Any], *args: Any, refusable: bool = False, **kw: Any) -> Any:
        """Runs one audit step. Errors are reported and swallowed, except that a refusable step under
        fail_closed raises GenerationRefused (the caller has not queued anything yet)."""
        try:
            return fn(*args, **kw)
        except GenerationRefused:
            raise
        except Exception as e:  # noqa: BLE001 - a hook must never break Fooocus
            self.report(what, e)
            if refusable and self.fail_closed:
                raise GenerationRefused(f"fooocus_audit: {what} could not be recorded and fail_closed is set; "
                                        f"the generation was not queued") from None
            return None

    # --- requests --------------------------------------------------------------------------------------------

    @staticmethod
    def new_request_id() -> str:
        return "req_" + str(uuid.uuid4())

    def get(self, request_id: str) -> Optional[RequestState]:
        with self._lock:
            return self._requests.get(request_id)

    def remember(self, state: RequestState) -> None:
        with self._lock:
            self._requests[state.request_id] = state

    def forget(self, request_id: str) -> None:
        with self._lock:
            self._requests.pop(request_id, None)
            for tid, rid in list(self._running.items()):
                if rid == request_id:
                    del self._running[tid]

    def set_running(self, request_id: Optional[str]) -> None:
        tid = threading.get_ident()
        with self._lock:
            if request_id is None:
                self._running.pop(tid, None)
            else:
                self._running[tid] = request_id

    def running_here(self) -> Optional[str]:
        with self._lock:
            return self._running.get(threading.get_ident())

    def running_all(self) -> List[str]:
        with self._lock:
            return list(self._running.values())

    # --- prompt privacy --------------------------------------------------------------------------------------

    def prompt_privacy(self, prompt: str) -> Tuple[Optional[str], str]:
        """(sanitized text or None, keyed hash) of a prompt; the raw text never leaves this function."""
        if self.sanitizer is not None:
            try:
                result = self.sanitizer.sanitize(prompt)
                return result.text, result.prompt_hash
            except Exception as e:  # noqa: BLE001 - fall back to logging no text at all
                self.report("prompt sanitization", e)
                if self.fail_closed:
                    raise GenerationRefused("fooocus_audit: the prompt could not be sanitized and fail_closed "
                                            "is set; the generation was not queued") from None
        digest = hmac.new(self._prompt_key, prompt.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return None, "hmac-sha256:" + digest

    def scrub(self, text: str, state: Optional[RequestState]) -> str:
        """An error message fit for the log: raw prompts replaced, sanitized, cut to 300 characters."""
        if state is not None:
            for raw in _scrub_forms(state.secrets_to_scrub):
                text = text.replace(raw, "[PROMPT]")
        if self.sanitizer is not None:
            try:
                text = self.sanitizer.sanitize(text).text
            except Exception:  # noqa: BLE001
                text = "[unavailable]"
        return text[:300]

    def error_details(self, error: Optional[BaseException], state: Optional[RequestState]) -> str:
        if error is None:
            return "unspecified"
        name = type(error).__name__
        if not self.error_messages:
            return name
        message = self.scrub(str(error), state)
        return f"{name}: {message}" if message else name

    # --- identity ----------------------------------------------------------------------------------------------

    def identity(self, task: Any, request: Any) -> Dict[str, str]:
        """user_id, tenant_id, session_id, ip_address, user_agent from user_resolver (or a Gradio request)."""
        ident: Dict[str, str] = {}
        if request is not None:
            username = getattr(request, "username", None)
            if username:
                ident["user_id"] = str(username)
            session = getattr(request, "session_hash", None)
            if session:
                ident["session_id"] = str(session)
            client = getattr(request, "client", None)
            host = getattr(client, "host", None)
            if host:
                ident["ip_address"] = str(host)
            headers = getattr(request, "headers", None)
            if headers is not None:
                try:
                    agent = headers.get("user-agent")
                except Exception:  # noqa: BLE001
                    agent = None
                if agent:
                    ident["user_agent"] = str(agent)
        if self.user_resolver is not None:
            resolved = self.user_resolver(task, request)
            if isinstance(resolved, str):
                ident["user_id"] = resolved
            elif isinstance(resolved, dict):
                for k in ("user_id", "tenant_id", "session_id", "ip_address", "user_agent"):
                    if resolved.get(k):
                        ident[k] = str(resolved[k])
        if self.tenant_id and "tenant_id" not in ident:
            ident["tenant_id"] = self.tenant_id
        return ident

    # --- events through the logger -----------------------------------------------------------------------------

    def log_event(self, event: Dict[str, Any], state: Optional[RequestState] = None) -> None:
        if state is not None:
            for k in ("user_id", "tenant_id", "session_id"):
                if state.identity.get(k) and k not in event:
                    event[k] = state.identity[k]
        elif self.tenant_id and "tenant_id" not in event:
            event["tenant_id"] = self.tenant_id
        self.logger.log(event)

    def safety_checked(self, flags: Any) -> None:
        """safety_check.completed for the request this worker thread runs (StableDiffusionSafetyChecker)."""
        verdict = [bool(x) for x in _as_list(flags)]
        rid = self.running_here()
        state = self.get(rid) if rid else None
        if state is None:
            log.debug("fooocus_audit: safety check outside a tracked generation; not logged")
            return
        with self._lock:
            state.nsfw.extend(verdict)
        event: Dict[str, Any] = {"event_type": "safety_check.completed", "request_id": state.request_id,
                                 "prompt_hash": state.prompt_hash, "has_nsfw_concepts": verdict,
                                 "action": "blocked" if any(verdict) else "allowed"}
        if self.safety_checker_version:
            event["safety_checker_version"] = self.safety_checker_version
        self.log_event(event, state)

    def interrupted(self) -> None:
        """interrupt_current_processing(): marks the requests running now as interrupted."""
        with self._lock:
            for rid in self._running.values():
                state = self._requests.get(rid)
                if state is not None:
                    state.interrupted = True

    def check_models(self, state: RequestState, base: str, refiner: str, loras: List[Dict[str, Any]]) -> bool:
        """registry.check_generation before the generation runs; False when the registry blocks it."""
        if self.registry is None:
            return True
        gen: Dict[str, Any] = {"request_id": state.request_id}
        if base:
            gen["base"] = {"model_id": base}
        if refiner and refiner != "None":
            gen["refiner"] = {"model_id": refiner}
        if loras:
            gen["loras"] = [{"model_id": l["name"], **({"weight": l["weight"]} if "weight" in l else {})}
                            for l in loras]
        if state.identity.get("user_id"):
            gen["user_id"] = state.identity["user_id"]
        if self.model_policy:
            gen["policy"] = self.model_policy
        decision = self.registry.check_generation(gen) or {}
        return bool(decision.get("allowed", True))

    # --- uninstall ---------------------------------------------------------------------------------------------

    def on_uninstall(self, fn: Callable[[], None]) -> None:
        self._restore.append(fn)

    def restore_all(self) -> None:
        while self._restore:
            fn = self._restore.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001
                log.warning("fooocus_audit: restoring a hook failed: %s", type(e).__name__)
        if self._own_tracker:
            try:
                self.tracker.close()
            except Exception:  # noqa: BLE001
                pass


def _scrub_forms(prompts: Tuple[str, ...]) -> List[str]:
    """The forms in which a raw prompt shows up in an exception message, longest first: as given, each of its
    lines (Fooocus splits prompts by line and collapses spaces, safe_str), and repr()-escaped (f"{prompt!r}")."""
    forms = set()
    for raw in prompts:
        if not raw:
            continue
        parts = [raw] + raw.splitlines()
        for part in parts:
            for form in (part, part.strip(), " ".join(part.split()), repr(part)[1:-1]):
                if len(form) >= 4:
                    forms.add(form)
    return sorted(forms, key=len, reverse=True)


def _as_list(flags: Any) -> List[Any]:
    if flags is None:
        return []
    tolist = getattr(flags, "tolist", None)  # torch tensors, numpy arrays
    if callable(tolist):
        try:
            flags = tolist()
        except Exception:  # noqa: BLE001
            pass
    if isinstance(flags, (list, tuple)):
        return list(flags)
    return [flags]


def find_gradio_request(max_depth: int = 8) -> Any:
    """The ``request`` local of a calling frame that looks like a gradio.Request (see the guide's one-line edit)."""
    try:
        frame = sys._getframe(2)
    except ValueError:
        return None
    for _ in range(max_depth):
        if frame is None:
            return None
        candidate = frame.f_locals.get("request")
        if candidate is not None and hasattr(candidate, "username") and (
                hasattr(candidate, "headers") or hasattr(candidate, "client")):
            return candidate
        frame = frame.f_back
    return None


@dataclass
class SubmissionParts:
    """What both integrations build the same way from a task or its parameters (the raw prompts are kept only to
    scrub them from error messages; they never reach the log)."""
    identity: Dict[str, Any]
    request: Dict[str, Any]
    prompt_hash: str
    raw_prompts: Tuple[str, str]


def submission_parts(integ: Any, source: Any, identity_args: Tuple[Any, ...], *, seed_attr: str,
                     cfg_attr: str) -> SubmissionParts:
    """Identity (user resolver + tenant) and the request members of generation.submitted for `source`, with the
    prompt (and, with a sanitizer, the negative prompt) replaced by its sanitized form and keyed hash."""
    ident = integ.guard("user_resolver", integ.identity, *identity_args) or {}
    if integ.tenant_id and "tenant_id" not in ident:
        ident["tenant_id"] = integ.tenant_id
    prompt = _text(getattr(source, "prompt", ""))
    negative = _text(getattr(source, "negative_prompt", ""))
    sanitized, phash = integ.prompt_privacy(prompt)
    req = request_fields(source, prompt_attr="prompt", negative_attr="negative_prompt",
                         styles_attr="style_selections", performance_attr="performance_selection",
                         aspect_attr="aspect_ratios_selection", number_attr="image_number",
                         seed_attr=seed_attr, sharpness_attr="sharpness", cfg_attr=cfg_attr, loras_attr="loras")
    req["prompt_hash"] = phash
    if sanitized is not None:
        req["prompt_sanitized"] = sanitized
    if negative and integ.sanitizer is not None:
        neg, _ = integ.prompt_privacy(negative)
        if neg is not None:
            req["negative_prompt"] = neg
    return SubmissionParts(identity=ident, request=req, prompt_hash=phash, raw_prompts=(prompt, negative))


def submission_state(parts: SubmissionParts, source: Any, request_id: str) -> RequestState:
    """The request's state: the generation.submitted members (identity, request, base and refiner model of
    `source`) and what the model checks need."""
    submission: Dict[str, Any] = dict(parts.identity)
    submission["request"] = parts.request
    base = _text(getattr(source, "base_model_name", ""))
    refiner = _text(getattr(source, "refiner_model_name", ""))
    if base:
        submission["model_version"] = base
    if refiner:
        submission["refiner_model"] = refiner
    return RequestState(request_id=request_id, prompt_hash=parts.prompt_hash, identity=parts.identity,
                        secrets_to_scrub=parts.raw_prompts,
                        models={"base": base, "refiner": refiner, "loras": parts.request.get("loras", []),
                                "submission": submission})


def request_fields(params: Any, *, prompt_attr: str, negative_attr: str, styles_attr: str,
                   performance_attr: str, aspect_attr: str, number_attr: str, seed_attr: str,
                   sharpness_attr: str, cfg_attr: str, loras_attr: str) -> Dict[str, Any]:
    """Reads generation parameters from an object (AsyncTask, ImageGenerationParams) without the prompt."""
    req: Dict[str, Any] = {}
    perf = _text(getattr(params, performance_attr, None))
    if perf:
        req["performance"] = perf
    ar = aspect_ratio(getattr(params, aspect_attr, None))
    if ar:
        req["aspect_ratio"] = ar
    try:
        n = int(getattr(params, number_attr, 0) or 0)
        if n >= 1:
            req["num_images"] = n
    except (TypeError, ValueError):
        pass
    seed = seed_value(getattr(params, seed_attr, None))
    if seed is not None:
        req["seed"] = seed
    styles = getattr(params, styles_attr, None)
    if isinstance(styles, (list, tuple)):
        req["styles"] = [str(s) for s in styles]
    cfg = _number(getattr(params, cfg_attr, None))
    if cfg is not None:
        req["guidance_scale"] = cfg
    sharp = _number(getattr(params, sharpness_attr, None))
    if sharp is not None:
        req["sharpness"] = sharp
    loras = lora_list(getattr(params, loras_attr, None))
    if loras:
        req["loras"] = loras
    return req


def existing_files(paths: Any) -> List[str]:
    out: List[str] = []
    for p in paths or []:
        if isinstance(p, (str, os.PathLike)):
            s = os.fspath(p)
            if isinstance(s, str) and os.path.isfile(s) and s not in out:
                out.append(s)
    return out
