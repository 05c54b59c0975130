# SPDX-License-Identifier: Apache-2.0
"""Events as Python marshal data (fa_logger_log_marshal): the record is the JSON path's record byte for byte, or
both refuse with the same status; AuditLogger.log uses marshal when it can and falls back to JSON otherwise, with
the exceptions it always raised."""
import collections
import copy
import json
import marshal
import os
import pathlib

import pytest

from fooocus_audit import AuditLogger, FooocusAuditError, InvalidArgument, TooLarge
from fooocus_audit import _native
from fooocus_audit import logger as logger_module

from conftest import segment_files

# The seed article's §2.2 example event (docs/events.md §4), shared with the C++ tests and bench_ctypes.py.
SEED_EVENT_PATH = pathlib.Path(__file__).resolve().parents[3] / "tests" / "data" / "seed_event.json"
SEED = json.loads(SEED_EVENT_PATH.read_text(encoding="utf-8"))


def edited(path, value):
    """SEED with one member replaced (value DELETE removes it)."""
    e = copy.deepcopy(SEED)
    target = e
    for k in path[:-1]:
        target = target[k]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return e


DELETE = object()
SHARED_LIST = ["shared", 1, 2.5]
SHARED_DICT = {"k": "v", "n": [1, 2]}


def deep(levels):
    v = None
    for _ in range(levels):
        v = [v]
    return v


EVENTS = [
    SEED,
    copy.deepcopy(SEED),
    edited(["extra"], 1),
    edited(["request", "extra"], "x"),
    edited(["user_agent"], DELETE),
    edited(["request", "seed"], DELETE),
    edited(["event_type"], "acme.generation"),
    edited(["request", "num_images"], "1"),
    edited(["user_id"], 7),
    edited(["request", "guidance_scale"], 4),
    edited(["outputs", 0, "width"], 1024.0),
    edited(["request", "seed"], 2 ** 53),
    edited(["request", "seed"], 2 ** 53 - 1),
    edited(["request", "seed"], 2 ** 64 - 1),
    edited(["request", "seed"], 2 ** 64),
    edited(["request", "seed"], 2 ** 70),
    edited(["request", "seed"], "18446744073709551615"),
    edited(["request", "seed"], -1),
    edited(["processing", "queue_wait_ms"], -5),
    edited(["outputs", 0, "file_size_bytes"], 2 ** 53 + 1),
    edited(["request", "num_images"], 0),
    edited(["request", "num_images"], True),
    edited(["timestamp"], "yesterday"),
    edited(["timestamp"], ""),
    edited(["outputs", 0, "hash"], "md5:00"),
    edited(["request_id"], ""),
    edited(["request", "prompt_sanitized"], "montre de luxe \u2713 sur marbre \U0001d11e \u00e9\t\"q\"\\ \x00 \x7f"),
    edited(["request", "prompt_sanitized"], "watch, api key sk-proj-4eC39HqLyjWDarjtT1zdp7dc"),
    edited(["request", "styles"], ["AKIAIOSFODNN7EXAMPLE", "ok"]),
    edited(["safety", "has_nsfw_concepts"], [False, True]),
    edited(["request", "loras"], [{"name": "a", "weight": 1}]),
    edited(["request", "loras"], [{"name": "a", "weight": 0.5, "x": 1}]),
    edited(["request", "loras"], []),
    edited(["request", "styles"], ("tuple", "of styles")),
    edited(["outputs"], []),
    edited(["outputs"], [SEED["outputs"][0]] * 3),
    edited(["request", "guidance_scale"], -0.0),
    edited(["request", "guidance_scale"], 5e-324),
    edited(["request", "sharpness"], 1.7976931348623157e308),
    edited(["request"], None),
    edited(["event_type"], "log.opened"),
    edited(["event_type"], "Image Generation"),
    {"event_type": "generation.submitted", "request_id": "r1", "request": SEED["request"]},
    {"event_type": "acme.shared", "a": SHARED_LIST, "b": SHARED_LIST, "c": SHARED_DICT, "d": [SHARED_DICT] * 3},
    {"event_type": "acme.ints", "v": [0, -0, 1, -1, 2 ** 31 - 1, -2 ** 31, 2 ** 31, -2 ** 31 - 1, 2 ** 53, 2 ** 63 - 1,
                                      2 ** 63, -2 ** 63, -2 ** 63 - 1, 2 ** 64 - 1, 2 ** 64, 10 ** 30, -10 ** 30,
                                      2 ** 1023, 3 ** 600, (2 ** 53 + 1) * 2 ** 20]},
    {"event_type": "acme.bigint", "v": 2 ** 1024},
    {"event_type": "acme.bigint", "v": -(10 ** 400)},
    {"event_type": "acme.floats", "v": [0.1, -0.0, 1e-320, 5e-324, 2.2250738585072014e-308, 1e21, 1e-7, 123.456,
                                        1.7976931348623157e308, 4.0]},
    {"event_type": "acme.strings", "": "", "\u00e9": "\U0001F600", "a\"b": "\\", "k" * 300: "v" * 70000,
     "ctrl": "".join(chr(c) for c in range(32)), "bmp": "\uffff\ufffe\u2028"},
    {"event_type": "acme.deep", "v": deep(62)},
    {"event_type": "acme.deep", "v": deep(63)},
    {"event_type": "acme.deep", "v": deep(64)},
    {"event_type": "acme.empty", "o": {}, "l": [], "t": ()},
    {"event_type": "acme.keys", **{f"k{i}": i for i in range(200)}},
    {"event_type": "apikey.used", "key_id": "sk-proj-4eC39HqLyjWDarjtT1zdp7dc"},
    {"no_event_type": 1},
]


def event_bytes(log_dir):
    """The canonical event bytes of each user record."""
    out = []
    head = b'{"event":'
    for seg in segment_files(log_dir):
        with open(seg, "rb") as f:
            for line in f.read().split(b"\n"):
                if not line or json.loads(line)["event"]["event_type"].startswith("log."):
                    continue
                assert line.startswith(head)
                out.append(line[len(head):line.rindex(b',"log_id":"')])
    return out


def status_of(call, *args):
    try:
        call(*args)
        return 0, ""
    except FooocusAuditError as e:
        return e.code, e.message


def test_marshal_and_json_give_the_same_records_or_the_same_status(tmp_path):
    via_marshal = AuditLogger(dir=tmp_path / "marshal", durability="none")
    via_json = AuditLogger(dir=tmp_path / "json", durability="none")
    accepted = 0
    for i, event in enumerate(EVENTS):
        data = marshal.dumps(event, 4)
        text = json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        m = status_of(via_marshal._call, "fa_logger_log_marshal", data, len(data))
        j = status_of(via_json._call, "fa_logger_log", text, len(text))
        assert m[0] == j[0], (i, m, j)
        if m[0] == 1 and "marshal" not in m[1]:
            assert m[1] == j[1], i  # refused by the schema or the guard: the same words
        accepted += m[0] == 0
    via_marshal.close()
    via_json.close()
    a, b = event_bytes(tmp_path / "marshal"), event_bytes(tmp_path / "json")
    assert len(a) == accepted >= 30
    assert a == b


def test_event_marshal_to_json_decodes_what_json_carries():
    lib = _native.load()
    for event in EVENTS:
        data = marshal.dumps(event, 4)
        try:
            out = lib_call_json(lib, data)
        except InvalidArgument as e:
            assert "int out of the range of a double" in e.message or "nested deeper" in e.message, e.message
            continue
        # As the library's JSON reader takes JSON text: integers beyond int64/uint64 become the nearest double.
        expected = json.loads(json.dumps(event), parse_int=json_reader_int)
        assert out == expected
        assert json.dumps(out, sort_keys=True) == json.dumps(expected, sort_keys=True)  # int stays int, 4.0 float


def json_reader_int(text):
    n = int(text)
    return n if -2 ** 63 <= n < 2 ** 64 else float(text)


def lib_call_json(lib, data):
    import ctypes
    buf, size = ctypes.c_void_p(), ctypes.c_size_t()
    lib.fa_event_marshal_to_json(data, len(data), ctypes.byref(buf), ctypes.byref(size))
    return json.loads(_native.take_buffer(lib, buf, size).decode("utf-8"))


def test_probe_accepts_this_library_and_refuses_a_library_without_marshal():
    assert logger_module.marshal_usable(_native.load()) is True

    class Old:
        def fa_abi_version(self):
            return 1

    assert logger_module._probe(Old()) is False

    class Wrong:
        """Has the functions but decodes something else."""
        fa_logger_log_marshal = None

        def fa_abi_version(self):
            return 2

        def fa_event_marshal_to_json(self, data, n, buf, size):
            raise InvalidArgument("nope")

    assert logger_module._probe(Wrong()) is False


class Spy:
    """Counts the library calls an AuditLogger makes."""

    def __init__(self, lg, monkeypatch):
        self.calls = collections.Counter()
        real = lg._call

        def call(name, *args):
            self.calls[name] += 1
            return real(name, *args)

        monkeypatch.setattr(lg, "_call", call)
        # AuditLogger.log's marshal path calls the status-returning function object directly (not through _call).
        raw = lg._lib.fa_logger_log_marshal_status

        def raw_call(*args):
            self.calls["fa_logger_log_marshal"] += 1
            return raw(*args)

        monkeypatch.setattr(lg._lib, "fa_logger_log_marshal_status", raw_call)


def test_log_uses_marshal_for_a_plain_dict(logger, log_dir, monkeypatch):
    spy = Spy(logger, monkeypatch)
    logger.log(SEED)
    logger.log({"event_type": "test.plain", "t": (1, 2), "n": None})
    assert spy.calls["fa_logger_log_marshal"] == 2 and spy.calls["fa_logger_log"] == 0
    # What marshal cannot write, or the library refuses, goes as JSON, which decides as it always did.
    logger.log({1: "int key", "event_type": "test.int_key"})                  # json.dumps makes the key "1"
    logger.log(collections.OrderedDict(event_type="test.ordered"))           # not exactly a dict
    logger.log('{"event_type":"test.text"}')
    assert spy.calls["fa_logger_log"] == 3
    logger.close()
    events = [e for e in _events(log_dir) if e["event_type"].startswith("test.")]
    assert [e["event_type"] for e in events] == ["test.plain", "test.int_key", "test.ordered", "test.text"]
    assert events[0]["t"] == [1, 2] and events[1]["1"] == "int key"


@pytest.mark.parametrize("bad,cls,words", [
    ({"event_type": "test.x", "v": float("nan")}, InvalidArgument, "NaN or infinity is not valid JSON"),
    ({"event_type": "test.x", "v": float("-inf")}, InvalidArgument, "NaN or infinity is not valid JSON"),
    ({"event_type": "test.x", "v": b"bytes"}, InvalidArgument, "Object of type bytes is not JSON serializable"),
    ({"event_type": "test.x", "v": {1, 2}}, InvalidArgument, "Object of type set is not JSON serializable"),
    ({"event_type": "test.x", "v": object()}, InvalidArgument, "Object of type object is not JSON serializable"),
    ({"event_type": "test.\ud800"}, InvalidArgument, "lone surrogate"),
    ({"event_type": "test.x", "v": 2 ** 1024}, InvalidArgument, "out of the range of a double"),
    ({"event_type": "test.x", "v": deep(64)}, InvalidArgument, "nested deeper than 64 levels at byte"),
    ({"event_type": "generation.failed", "request_id": "r"}, InvalidArgument, "error_details"),
    ({"event_type": "test.big", "blob": "a" * (64 * 1024 * 1024)}, TooLarge, "more than the limit"),
])
def test_refusals_raise_what_the_json_path_raised(logger, log_dir, bad, cls, words, monkeypatch):
    logger.log({"event_type": "test.before"})
    with pytest.raises(cls) as marshal_first:
        logger.log(bad)
    monkeypatch.setattr(logger_module, "_marshal_usable", False)
    with pytest.raises(cls) as json_only:
        logger.log(bad)
    assert type(marshal_first.value) is type(json_only.value)
    assert str(marshal_first.value) == str(json_only.value)
    assert words in str(marshal_first.value)
    logger.log({"event_type": "test.after"})
    logger.close()
    assert [e["event_type"] for e in _events(log_dir) if e["event_type"].startswith("test.")] == \
        ["test.before", "test.after"]


def test_self_referencing_dict_is_refused(logger):
    event = {"event_type": "test.cycle"}
    event["self"] = event
    with pytest.raises(InvalidArgument) as e:
        logger.log(event)
    assert "not JSON-serializable" in str(e.value) or "Circular" in str(e.value)


def test_json_only_when_the_probe_fails(logger, log_dir, monkeypatch):
    monkeypatch.setattr(logger_module, "_marshal_usable", False)
    spy = Spy(logger, monkeypatch)
    logger.log(SEED)
    assert spy.calls == {"fa_logger_log": 1}


def _events(log_dir):
    out = []
    for seg in segment_files(log_dir):
        with open(seg, "rb") as f:
            out += [json.loads(line)["event"] for line in f.read().split(b"\n") if line]
    return out
