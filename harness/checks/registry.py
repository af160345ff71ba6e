"""The rejudgeable checks: name → pure function of (timeline entries, arguments) → judgement.

Issue 10 item 4 (`wicct rejudge`): an accreditor re-runs the verdict logic on the stored
evidence, without the SUT. A check marked `@rejudgeable` is registered under
`<module>.<function>` (`framing.frames_masked`); while a case runs (`recording`, set by
`harness.cases.context.CaseContext`), each call of it is remembered with its arguments
encoded as JSON: a list of timeline entries becomes the seqs it held (`{"entries": [[first,
last], ...]}`), one entry `{"entry": seq}`, octets `{"bytes": hex}`, a SIP message its wire form (`{"sip": text}`,
parsed again by `harness.sip`), a frozen dataclass of `harness.checks` `{"dataclass":
"module:Class", "fields": {...}}`, a mapping `{"map": {...}}`, texts, numbers and lists of
them as they are. A call
with any other argument (a parsed SIP message, a generator) is remembered as not
replayable, with the reason. `replay` decodes the arguments against the stored timeline and
calls the check again (docs/architecture.md principle 1: checks never await, so a stored
timeline can be judged again).

Recording changes nothing a check returns; it only appends to the running case's list.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from harness.evidence import Entry, Timeline
from harness.sip.message import SipMessage, parse

P = ParamSpec("P")
R = TypeVar("R")

REGISTRY: dict[str, Callable[..., Any]] = {}
"""Every rejudgeable check by name (`module.function`), undecorated."""

KEPT = 64  # calls a case remembers: a judgement follows its check call closely

_TAGS = frozenset({"entries", "entry", "dataclass", "set", "map", "sip", "bytes"})


class Unrecordable(Exception):
    """An argument that has no JSON form a stored timeline can give back."""


@dataclass(frozen=True)
class CheckCall:
    """One call of a rejudgeable check: its name, the encoded arguments (or why they could
    not be encoded) and what it returned, flattened (`judgements_of`)."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    problem: str = ""  # why the call cannot be replayed; "" when it can
    results: tuple[Any, ...] = ()


_CALLS: ContextVar[deque[CheckCall] | None] = ContextVar("wicct_check_calls", default=None)
_TIMELINE: ContextVar[Timeline | None] = ContextVar("wicct_check_timeline", default=None)


def recording(timeline: Timeline | None = None) -> deque[CheckCall]:
    """Start remembering check calls in the current context (a running case and the tasks
    it starts) and return the list they go to. With the case's `timeline`, a list of
    stored entries is written as few ranges as the stored timeline allows (`ranges`)."""
    calls: deque[CheckCall] = deque(maxlen=KEPT)
    _CALLS.set(calls)
    _TIMELINE.set(timeline)
    return calls


def rejudgeable(fn: Callable[P, R]) -> Callable[P, R]:
    """Register `fn` (a pure check over timeline entries) under `module.function`."""
    name = f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"
    REGISTRY[name] = fn

    @wraps(fn)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        result = fn(*args, **kwargs)
        calls = _CALLS.get()
        if calls is not None:
            calls.append(_record(name, args, kwargs, result))
        return result

    return call


def _record(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], result: Any) -> CheckCall:
    results = tuple(judgements_of(result))
    try:
        encoded = tuple(encode(a) for a in args)
        named = {k: encode(v) for k, v in kwargs.items()}
    except Unrecordable as exc:
        return CheckCall(name, problem=str(exc), results=results)
    return CheckCall(name, encoded, named, "", results)


def judgements_of(result: Any) -> list[Any]:
    """The judgements in what a check returned: itself when it has a verdict and a reason,
    the items of a list or tuple in order (None kept, so positions stay), else none."""
    if result is None:
        return []
    if hasattr(result, "verdict") and hasattr(result, "reason"):
        return [result]
    if isinstance(result, list | tuple):
        found: list[Any] = []
        for item in result:
            found.extend(judgements_of(item) if item is not None else [None])
        return found
    return []


# -- arguments as JSON ------------------------------------------------------------------


def ranges(seqs: Sequence[int], timeline: Timeline | None = None) -> list[list[int]]:
    """[1, 2, 3, 7] → [[1, 3], [7, 7]], in the given order. With the `timeline` the seqs
    come from, a range also spans seqs the timeline never stored (entries counted past its
    cap, harness.evidence): [1, 2, 5] is [[1, 5]] when 3 and 4 were only counted, so a
    flooded case's check call is a few ranges, not thousands (issue 11: report.json
    bounded). `decode` skips such seqs; it is exact because a range is only stretched over
    seqs with no stored entry."""
    out: list[list[int]] = []
    for seq in seqs:
        if out and (out[-1][1] + 1 == seq or (
            timeline is not None and seq > out[-1][1] and not timeline.stored_between(out[-1][1], seq)
        )):
            out[-1][1] = seq
        else:
            out.append([seq, seq])
    return out


def encode(value: Any) -> Any:
    """The JSON form of one argument; raises `Unrecordable`."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Entry):
        return {"entry": value.seq}
    if isinstance(value, bytes | bytearray):
        return {"bytes": bytes(value).hex()}
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, Entry) for v in value):
            seqs = [v.seq for v in value]
            timeline = _TIMELINE.get()
            if timeline is not None and all(timeline.is_stored(s) for s in seqs):
                return {"entries": ranges(seqs, timeline), "stored": True}
            return {"entries": ranges(seqs)}
        return [encode(v) for v in value]
    if isinstance(value, SipMessage):
        wire = value.to_bytes()
        try:
            return {"sip": wire.decode("utf-8")}
        except UnicodeDecodeError:
            return {"sip": {"hex": wire.hex()}}
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {"map": {k: encode(v) for k, v in value.items()}}
    if isinstance(value, set | frozenset):
        return {"set": sorted((encode(v) for v in value), key=repr)}
    kind = type(value)
    if dataclasses.is_dataclass(value) and kind.__module__.startswith("harness.checks."):
        return {
            "dataclass": f"{kind.__module__}:{kind.__qualname__}",
            "fields": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)},
        }
    raise Unrecordable(f"an argument is a {kind.__name__}")


def decode(value: Any, entries: Mapping[int, Entry]) -> Any:
    """The argument `encode` wrote, with entries taken from the stored timeline; KeyError
    names a seq the timeline lacks."""
    if isinstance(value, list):
        return [decode(v, entries) for v in value]
    if not isinstance(value, dict):
        return value
    tag = next(iter(value.keys() & _TAGS), None)
    if tag == "entry":
        return entries[int(value["entry"])]
    if tag == "entries":
        spans = value["entries"]
        if value.get("stored"):  # stretched over seqs never stored (`ranges`): skip those
            for first, last in spans:
                entries[first], entries[last]  # noqa: B018 - KeyError names a missing end
            return [entries[s] for first, last in spans for s in range(first, last + 1) if s in entries]
        return [entries[s] for first, last in spans for s in range(first, last + 1)]
    if tag == "bytes":
        return bytes.fromhex(str(value["bytes"]))
    if tag == "sip":
        wire = value["sip"]
        data = bytes.fromhex(wire["hex"]) if isinstance(wire, dict) else str(wire).encode("utf-8")
        return parse(data).message
    if tag == "map":
        return {k: decode(v, entries) for k, v in value["map"].items()}
    if tag == "set":
        return {decode(v, entries) for v in value["set"]}
    if tag == "dataclass":
        module, _, qualname = str(value["dataclass"]).partition(":")
        if not module.startswith("harness.checks."):
            raise KeyError(f"dataclass {value['dataclass']} is not wicct's")
        kind = getattr(importlib.import_module(module), qualname)
        fields = {k: decode(v, entries) for k, v in value["fields"].items()}
        return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    raise KeyError(f"an argument of unknown form: {sorted(value)}")


def replay(name: str, args: Sequence[Any], kwargs: Mapping[str, Any], entries: Mapping[int, Entry]) -> list[Any]:
    """Call check `name` again on the stored timeline; its judgements, flattened. KeyError
    when no such check is registered or an argument cannot be rebuilt."""
    try:
        fn = REGISTRY[name]
    except KeyError:
        raise KeyError(f"no rejudgeable check named {name}") from None
    result = fn(*[decode(a, entries) for a in args], **{k: decode(v, entries) for k, v in kwargs.items()})
    return judgements_of(result)


def load_all() -> dict[str, Callable[..., Any]]:
    """Import every module of `harness.checks`, so that the registry is complete."""
    import pkgutil

    import harness.checks as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"harness.checks.{info.name}")
    return REGISTRY
