"""SUT profiles: what the system under test is, where it is, and what it claims (PICS).

A profile is YAML validated by `PROFILE_SCHEMA` before any case runs; a bad profile is a
DocumentError (the CLI exits 2). Requirements marked "(unconf)" in the catalogue become
settings here and are echoed in the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import yamlmarks

BUILT_IN_DRIVERS = ("reference", "kamailio", "browser", "external", "manual")  # see suts/registry.py
ROLES = ("wic", "epcscf")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")

_duration_schema = {"type": ["string", "number"], "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s)?\s*$"}

PROFILE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "wicct SUT profile",
    "type": "object",
    "required": ["name", "role", "driver"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "role": {"enum": list(ROLES)},
        "driver": {"type": "string", "pattern": r"^([a-z][a-z0-9_-]*|[A-Za-z_][\w.]*:[A-Za-z_]\w*)$"},
        "faults": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "sut": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "url": {"type": "string", "pattern": "^wss://"},
                "ca": {"type": "string"},
                "tls_verify": {"type": "boolean"},
                "domain": {"type": "string"},
                "host": {"type": "string"},
            },
        },
        "wwsf_origin": {"type": "string"},
        "trusted_origins": {"type": "array", "items": {"type": "string"}},
        "core": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "listen": {"type": "string", "pattern": "^(udp|tcp)://"},
                "callee": {"type": "string"},
            },
        },
        "credentials": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "impi": {"type": "string"},
                "impu": {"type": "string"},
                "password": {"type": "string"},
                "display_name": {"type": "string"},
            },
        },
        "timers": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                k: _duration_schema
                for k in (
                    "t1",
                    "keepalive_window",
                    "response_timeout",
                    "handshake_timeout",
                    "retransmit_window",
                    "pong_timeout",
                    "start_timeout",
                )
            },
        },
        "features": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "driver_options": {"type": "object"},
        "expected_results": {"type": "string"},
    },
}


def parse_duration(value: str | float | int) -> float:
    """'50ms' → 0.05, '2s' or 2 → 2.0 (seconds)."""
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"not a duration: {value!r}")
    number = float(match.group(1))
    return number / 1000 if match.group(2) == "ms" else number


RFC3261_T1 = 0.5  # RFC 3261 §17.1.1.1: T1's default, what a SUT may run on whatever it is told


@dataclass(frozen=True, kw_only=True)
class Timers:
    t1: float = 0.5  # RFC 3261 T1 of the SUT
    keepalive_window: float = 2.0  # SEED 5.1.X.4 / 5.Y.4: how long to watch after BYE
    response_timeout: float = 2.0  # how long wicct waits for a response it is owed
    handshake_timeout: float = 3.0
    retransmit_window: float = 0.0  # 0: derived (see retransmit_watch, retransmission_watch)
    pong_timeout: float = 1.0  # RFC 6455 §5.5.2: "as soon as practical"; requirements: ~1 s
    start_timeout: float = 15.0  # for the driver to bring the SUT up

    @property
    def retransmit_watch(self) -> float:
        """How long "nothing arrives" is watched (a request not relayed, no response):
        the profile's `retransmit_window`, else 4×t1 (three UDP retransmissions)."""
        return self.retransmit_window or 4 * self.t1

    @property
    def retransmission_watch(self) -> float:
        """How long `expect.no_retransmission` watches for copies of a request (BOTH-TP-04,
        RFC 7118 §5; RFC 3261 §17.1.1.2, §17.1.2.2): the profile's `retransmit_window`
        when it sets one (a profile shortens the window only explicitly), else
        max(64×t1, 2×500 ms). 64×t1 is Timer B/F, the whole life of the client
        transaction for a SUT running on the profile's T1; 2×500 ms sees the first
        Timer A/E firing (at T1) of a SUT that runs on the RFC 3261 default T1 of 500 ms
        whatever the profile says, with as much again in margin."""
        return self.retransmit_window or max(64 * self.t1, 2 * RFC3261_T1)


@dataclass(frozen=True, kw_only=True)
class Profile:
    path: Path
    name: str
    role: str
    driver: str
    description: str = ""
    faults: tuple[str, ...] = ()
    url: str = ""
    ca: str = "generated"
    tls_verify: bool = True
    domain: str = "ims.example.test"
    host: str = "127.0.0.1"
    wwsf_origin: str = "https://wwsf.example.test"
    trusted_origins: tuple[str, ...] = ()
    core_listen: str = "udp://127.0.0.1:0"
    callee: str = "sip:bob@ims.example.test"
    impi: str = "alice@ims.example.test"
    impu: str = "sip:alice@ims.example.test"
    password: str = ""
    display_name: str = "Alice"
    timers: Timers = field(default_factory=Timers)
    features: frozenset[str] = frozenset()
    driver_options: dict[str, Any] = field(default_factory=dict)
    expected_results: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password,) if s)

    def value(self, dotted: str) -> Any:
        """Resolve `${profile.x.y}` references used by cases (explicit, no template engine)."""
        node: Any = self.raw
        for part in dotted.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise KeyError(dotted)
        return node


def load_profile(path: Path) -> Profile:
    """Load and validate a profile; raises yamlmarks.DocumentError naming file, line and key."""
    document = yamlmarks.load(path)
    yamlmarks.validate(document, PROFILE_SCHEMA, path)
    sut = document.get("sut", {})
    core = document.get("core", {})
    creds = document.get("credentials", {})
    timers = {}
    for key, value in document.get("timers", {}).items():
        timers[key] = parse_duration(value)
    origin = document.get("wwsf_origin", "https://wwsf.example.test")
    trusted = tuple(document.get("trusted_origins", [origin]))
    profile = Profile(
        path=path,
        name=document["name"],
        role=document["role"],
        driver=document["driver"],
        description=document.get("description", ""),
        faults=tuple(document.get("faults", [])),
        url=sut.get("url", ""),
        ca=sut.get("ca", "generated"),
        tls_verify=sut.get("tls_verify", True),
        domain=sut.get("domain", "ims.example.test"),
        host=sut.get("host", "127.0.0.1"),
        wwsf_origin=origin,
        trusted_origins=trusted,
        core_listen=core.get("listen", "udp://127.0.0.1:0"),
        callee=core.get("callee", "sip:bob@ims.example.test"),
        impi=creds.get("impi", "alice@ims.example.test"),
        impu=creds.get("impu", "sip:alice@ims.example.test"),
        password=creds.get("password", ""),
        display_name=creds.get("display_name", "Alice"),
        timers=Timers(**timers),
        features=frozenset(document.get("features", [])),
        driver_options=dict(document.get("driver_options", {})),
        expected_results=document.get("expected_results", ""),
        raw=yamlmarks.plain(document),
    )
    if profile.driver == "external" and not profile.url and profile.role == "epcscf":
        raise yamlmarks.DocumentError(path, document.line, "sut.url", "an external eP-CSCF needs sut.url")
    return profile

