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

from harness import features as pics
from harness import yamlmarks
from harness.tokens import TokenSettings

BUILT_IN_DRIVERS = ("reference", "kamailio", "browser", "external", "manual")  # see suts/registry.py
ROLES = ("wic", "epcscf")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$")

_duration_schema = {"type": ["string", "number"], "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s)?\s*$"}

_IDENTITY = {k: {"type": "string", "minLength": 1} for k in ("vendor", "product", "version")}

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
        # the implementation under test (ISO/IEC 9646-5 PCTR "IUT identification"): stated in
        # the report; components name what runs with it (a media relay, the browser)
        "implementation": {
            "type": "object",
            "additionalProperties": False,
            "required": ["product"],
            "properties": {
                **_IDENTITY,
                "components": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": False,
                              "required": ["product"], "properties": _IDENTITY},
                },
            },
        },
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
                # a token provisioned by the vendor for its WIC (WIC-REG-02) when wicct's
                # issuer cannot give it one; a secret, redacted everywhere
                "token": {"type": "string"},
            },
        },
        # a vendor's own secrets (API keys in driver options, ...): redacted everywhere
        "secrets": {"type": "array", "items": {"type": "string"}},
        "auth": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                # web credentials (SEED 5.1.X.1.3, 5.Y.1.3): wicct's token issuer
                "issuer": {"type": "string", "minLength": 1},
                "foreign_issuer": {"type": "string", "minLength": 1},
                "operator_issuers": {"type": "array", "items": {"type": "string"}},
                "audience": {"type": "string", "minLength": 1},
                "scope": {"type": "string", "minLength": 1},
                "token_lifetime": _duration_schema,
                "token_validation": {"enum": ["introspection", "jwks"]},
                # SIP digest (WIC-REG-01): the algorithms wicct's eP-CSCF challenges with
                "digest_algorithms": {
                    "type": "array", "minItems": 1, "uniqueItems": True,
                    "items": {"enum": ["MD5", "SHA-256"]},
                },
                # EPC-REG-01 (unconf): integrity-protected values expected towards the core
                "integrity_protected": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        k: {"type": "string", "minLength": 1}
                        for k in ("first", "challenge_response", "later")
                    },
                },
                # EPC-REG-02 (unconf): TNA Authorization fields expected besides username
                # and integrity-protected
                "tna_fields": {
                    "type": "array", "uniqueItems": True,
                    "items": {"enum": ["realm", "uri", "nonce", "response"]},
                },
                # EPC-REG-03 (unconf): where the WWSF identity goes in the forwarded REGISTER
                "wwsf_identity": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"header": {"type": "string", "minLength": 1},
                                   "param": {"type": "string"}},
                },
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
                    "silence_window",
                    "response_timeout",
                    "handshake_timeout",
                    "retransmit_window",
                    "pong_timeout",
                    "start_timeout",
                    "keepalive_interval",
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


PLAUSIBLE_T1 = 0.5  # RFC 3261 §17.1.1.1 default T1: a SUT may run on it whatever its profile says


def certification_window(t1: float) -> float:
    """64 × T1, the longest a SIP transaction may live (RFC 3261 §17.1.1.2 Timer B), on
    the SUT's plausible T1 (never below the RFC default 500 ms): 32 s. The default of
    every window where the requirement is that something does NOT happen."""
    return 64 * max(t1, PLAUSIBLE_T1)


# windows whose default is the certification window; a profile may set them shorter, and
# the report then states it (Profile.shortened_windows)
CERTIFICATION_WINDOWS = ("keepalive_window", "silence_window")
# windows whose default is a protocol interval, not 64 × T1; stated the same way when shorter
KEEPALIVE_INTERVAL = 120.0  # s, RFC 5626 §4.4.1
INTERVAL_WINDOWS = {"keepalive_interval": KEEPALIVE_INTERVAL}


@dataclass(frozen=True, kw_only=True)
class Timers:
    t1: float = 0.5  # RFC 3261 T1 of the SUT
    # SEED 5.1.X.4 / 5.Y.4: how long the WebSocket is watched after a call is released
    keepalive_window: float = 32.0
    # how long wicct watches where silence is the requirement (e.g. WIC-HS-03: no upgrade
    # request after a bad certificate, retries included)
    silence_window: float = 32.0
    response_timeout: float = 2.0  # how long wicct waits for a response it is owed
    handshake_timeout: float = 3.0
    retransmit_window: float = 0.0  # 0: derived (see retransmit_watch, retransmission_watch)
    pong_timeout: float = 1.0  # RFC 6455 §5.5.2: "as soon as practical"; requirements: ~1 s
    start_timeout: float = 15.0  # for the driver to bring the SUT up
    # RFC 5626 §4.4.1: a flow's keep-alives come every 95-120 s (80-100 % of 120 s on a
    # connection-oriented transport): a keep-alive is sent again this long after the first,
    # so a SUT that answers only for a while is caught (BOTH-KA-02)
    keepalive_interval: float = KEEPALIVE_INTERVAL

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
        return self.retransmit_window or max(64 * self.t1, 2 * PLAUSIBLE_T1)


# EPC-REG-01 defaults (catalogue: Oracle USM docs; unconf). "absent": no parameter.
INTEGRITY_PROTECTED = {"first": "absent", "challenge_response": "tls-pending", "later": "tls-yes"}
TNA_FIELDS = ("realm", "uri", "nonce", "response")


@dataclass(frozen=True, kw_only=True)
class AuthSettings:
    """Section 5 settings (`auth:` in a profile). Every unconfirmed point of the catalogue
    is here with its documented default; `used()` is what the report states."""

    tokens: TokenSettings = field(default_factory=TokenSettings)
    digest_algorithms: tuple[str, ...] = ("MD5", "SHA-256")
    integrity_protected: dict[str, str] = field(default_factory=lambda: dict(INTEGRITY_PROTECTED))
    tna_fields: tuple[str, ...] = TNA_FIELDS
    # EPC-REG-03: header and parameter carrying the WWSF identity ("" param: the value)
    wwsf_identity_header: str = "Authorization"
    wwsf_identity_param: str = "wwsf-identity"

    def used(self) -> dict[str, Any]:
        """The values a run used, for the report (unconfirmed points included)."""
        t = self.tokens
        return {
            "issuer": t.issuer,
            "foreign_issuer": t.foreign_issuer,
            "operator_issuers": list(t.operator_issuers or (t.issuer,)),
            "audience": t.audience,
            "scope": t.scope,
            "token_lifetime": t.lifetime,
            "token_validation": t.validation,
            "digest_algorithms": list(self.digest_algorithms),
            "integrity_protected": dict(self.integrity_protected),
            "tna_fields": list(self.tna_fields),
            "wwsf_identity": {"header": self.wwsf_identity_header,
                              "param": self.wwsf_identity_param},
        }


def auth_settings(document: dict[str, Any]) -> AuthSettings:
    """The profile's `auth:` block over the defaults."""
    auth = document.get("auth", {})
    tokens = TokenSettings(
        issuer=auth.get("issuer", TokenSettings.issuer),
        foreign_issuer=auth.get("foreign_issuer", TokenSettings.foreign_issuer),
        operator_issuers=tuple(auth.get("operator_issuers", ())),
        audience=auth.get("audience", TokenSettings.audience),
        scope=auth.get("scope", TokenSettings.scope),
        lifetime=parse_duration(auth.get("token_lifetime", TokenSettings.lifetime)),
        validation=auth.get("token_validation", TokenSettings.validation),
    )
    identity = auth.get("wwsf_identity", {})
    return AuthSettings(
        tokens=tokens,
        digest_algorithms=tuple(auth.get("digest_algorithms", ("MD5", "SHA-256"))),
        integrity_protected={**INTEGRITY_PROTECTED, **auth.get("integrity_protected", {})},
        tna_fields=tuple(auth.get("tna_fields", TNA_FIELDS)),
        wwsf_identity_header=identity.get("header", AuthSettings.wwsf_identity_header),
        wwsf_identity_param=identity.get("param", AuthSettings.wwsf_identity_param),
    )


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
    token: str = ""  # a vendor-provisioned token (credentials.token)
    extra_secrets: tuple[str, ...] = ()  # the profile's `secrets:`
    auth: AuthSettings = field(default_factory=AuthSettings)
    timers: Timers = field(default_factory=Timers)
    features: frozenset[str] = frozenset()
    driver_options: dict[str, Any] = field(default_factory=dict)
    expected_results: str = ""
    # `implementation:` as written (vendor, product, version, components); {}: not stated
    implementation: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # dotted key ("driver", "driver_options.page", "features.2") → its line in the file
    lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def id(self) -> str:
        return self.path.stem

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.token, *self.extra_secrets) if s)

    def shortened_windows(self) -> dict[str, dict[str, float]]:
        """Windows this profile set shorter than their certification default (64 × T1 on
        a plausible T1): a run with them may miss a defect the default would show, so the
        report states each one."""
        defaults = {name: certification_window(self.timers.t1) for name in CERTIFICATION_WINDOWS}
        defaults.update(INTERVAL_WINDOWS)
        return {
            name: {"seconds": getattr(self.timers, name), "certification_default": default}
            for name, default in defaults.items()
            if getattr(self.timers, name) < default
        }

    def pics(self) -> list[str]:
        """The features the profile claims (its PICS, harness.features), sorted."""
        return sorted(self.features)

    def pixit(self) -> dict[str, Any]:
        """The settings the run used to reach and judge this SUT (ISO/IEC 9646-5 PIXIT):
        timers (seconds), origins, addresses and identities, TLS verification, and the
        section-5 settings with the catalogue's unconfirmed points (`AuthSettings.used()`).
        No secret: passwords and tokens are not settings of the test."""
        return {
            "timers": {name: getattr(self.timers, name) for name in self.timers.__dataclass_fields__},
            "wwsf_origin": self.wwsf_origin,
            "trusted_origins": list(self.trusted_origins),
            "addresses": {
                "sut_url": self.url,
                "host": self.host,
                "domain": self.domain,
                "core_listen": self.core_listen,
                "callee": self.callee,
                "impi": self.impi,
                "impu": self.impu,
            },
            "tls_verify": self.tls_verify,
            "ca": self.ca,
            "auth": self.auth.used(),
        }

    def line(self, dotted: str) -> int:
        """The file line of a dotted key, else of its nearest parent that has one (0: none)."""
        parts = dotted.split(".")
        while parts:
            found = self.lines.get(".".join(parts))
            if found:
                return found
            parts.pop()
        return 0

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


def key_lines(node: Any, prefix: str = "") -> dict[str, int]:
    """Every dotted key of a marked YAML document with its line (list items by index)."""
    lines: dict[str, int] = {}
    if isinstance(node, yamlmarks.MarkedDict):
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            lines[dotted] = node.key_lines.get(key, node.line)
            lines.update(key_lines(value, dotted + "."))
    elif isinstance(node, yamlmarks.MarkedList):
        for index, value in enumerate(node):
            dotted = f"{prefix}{index}"
            lines[dotted] = node.item_lines[index]
            lines.update(key_lines(value, dotted + "."))
    return lines


def _check_features(document: Any, path: Path) -> None:
    """Every claimed feature is in the PICS vocabulary (harness.features), else exit 2."""
    claimed = document.get("features", [])
    for index, name in enumerate(claimed):
        if not pics.is_known(name):
            line = yamlmarks.line_of(document, ["features", index])
            raise yamlmarks.DocumentError(path, line, "features", pics.unknown_message(name))


def load_profile(path: Path) -> Profile:
    """Load and validate a profile; raises yamlmarks.DocumentError naming file, line and key."""
    document = yamlmarks.load(path)
    yamlmarks.validate(document, PROFILE_SCHEMA, path)
    _check_features(document, path)
    sut = document.get("sut", {})
    core = document.get("core", {})
    creds = document.get("credentials", {})
    timers = {}
    for key, value in document.get("timers", {}).items():
        timers[key] = parse_duration(value)
    for key in CERTIFICATION_WINDOWS:  # not set: the certification default, from T1
        timers.setdefault(key, certification_window(timers.get("t1", Timers.t1)))
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
        token=creds.get("token", ""),
        extra_secrets=tuple(document.get("secrets", [])),
        auth=auth_settings(document),
        timers=Timers(**timers),
        features=frozenset(document.get("features", [])),
        driver_options=dict(document.get("driver_options", {})),
        expected_results=document.get("expected_results", ""),
        implementation=yamlmarks.plain(document.get("implementation", {})),
        raw=yamlmarks.plain(document),
        lines=key_lines(document),
    )
    if profile.driver == "external" and not profile.url and profile.role == "epcscf":
        raise yamlmarks.DocumentError(path, document.line, "sut.url", "an external eP-CSCF needs sut.url")
    return profile

