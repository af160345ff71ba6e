"""Render Kamailio's eP-CSCF configuration from a profile (pure: no process, no socket).

The template `epcscf.cfg.tmpl` uses `@@NAME@@` placeholders (Kamailio's own syntax is full
of `$`, so `string.Template` would collide) and Kamailio's `#!ifdef` for optional blocks.
Every value put into the file is checked first: an origin or host that could break out of
its quoted string is refused here, never passed to Kamailio.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE = Path(__file__).with_name("epcscf.cfg.tmpl")

_PLACEHOLDER = re.compile(r"@@([A-Z0-9_]+)@@")
# RFC 6454 §6.1 serialisation: scheme "://" host [ ":" port ], or the opaque "null".
_ORIGIN = re.compile(r"^(?:[a-z][a-z0-9+.-]*://[A-Za-z0-9.\-\[\]:]+|null)$")
_LOOPBACK_V4 = re.compile(r"^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
# Values written between double quotes or into a regular expression of the config: a
# domain name, wicct's issuer on loopback over HTTPS, an audience, one scope token.
_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_ISSUER_BASE = re.compile(r"^https://127\.\d{1,3}\.\d{1,3}\.\d{1,3}:\d{1,5}$")
_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
_AUDIENCE = re.compile(r"^[A-Za-z0-9._~:/-]+$")
_SCOPE = re.compile(r"^[A-Za-z0-9._~:/-]+$")  # one RFC 6749 §3.3 scope-token, config-safe
_INTEGRITY = re.compile(r"^[a-z][a-z0-9-]*$")  # a TS 24.229 integrity-protected value or "absent"


class ConfigError(ValueError):
    """A profile value cannot be written into the Kamailio configuration."""


@dataclass(frozen=True, kw_only=True)
class TnaConfig:
    """Bearer validation and Trusted Node Authentication (SEED 5.Y.1.3; RFC 8898 §2.2;
    TS 33.203 Annex U): where the issuer's RFC 7662 introspection endpoint is and what a
    token must say. `validate=False` is the misconfigured variant that trusts any
    well-formed Bearer."""

    issuer_base: str  # https://127.0.0.1:PORT (the RFC 8414 base, also authz_server)
    introspection_path: str  # /introspect
    ca: Path  # the CA that signed the issuer's certificate
    audience: str
    scope: str
    timeout: int = 2  # seconds Kamailio waits for the issuer (http_client, whole seconds)
    validate: bool = True

    def __post_init__(self) -> None:
        if not _ISSUER_BASE.match(self.issuer_base):
            raise ConfigError(f"issuer must be https on IPv4 loopback, not {self.issuer_base!r}")
        if not _PATH.match(self.introspection_path):
            raise ConfigError(f"bad introspection path {self.introspection_path!r}")
        if '"' in str(self.ca) or not str(self.ca).startswith("/"):
            raise ConfigError(f"the issuer CA must be an absolute path: {self.ca}")
        if not _AUDIENCE.match(self.audience):
            raise ConfigError(f"audience not writable into the config: {self.audience!r}")
        if not _SCOPE.match(self.scope):
            raise ConfigError(f"scope must be one scope token: {self.scope!r}")
        if not 1 <= self.timeout <= 30:
            raise ConfigError(f"issuer timeout out of range (1-30 s): {self.timeout}")


@dataclass(frozen=True, kw_only=True)
class EpcscfConfig:
    """Everything the template needs; built by the driver from the profile and EpcscfEnv."""

    host: str  # loopback address Kamailio listens on (both sides)
    wss_port: int
    sip_port: int  # core-side listener
    core_host: str
    core_port: int
    core_transport: str = "udp"
    tls_cfg: Path = Path("tls.cfg")
    trusted_origins: tuple[str, ...] = ()
    origins_check: bool = True
    debug: int = 2
    ws_keepalive_mechanism: int = 1  # websocket module: 0 none, 1 Ping, 2 Pong
    ws_keepalive_timeout: int = 180
    domain: str = "ims.example.test"  # realm and uri of the TNA header
    tna: TnaConfig | None = None  # None: no bearer tokens (digest REGISTERs relayed)
    # integrity-protected on relayed digest REGISTERs (profile auth.integrity_protected)
    integrity_protected: Mapping[str, str] = field(
        default_factory=lambda: {"first": "absent", "challenge_response": "tls-pending", "later": "tls-yes"}
    )
    defines: tuple[str, ...] = field(default_factory=tuple)
    # rtpengine's ng control port (0: no media at the edge, the SDP passes unchanged)
    rtpengine_port: int = 0

    def __post_init__(self) -> None:
        for name in ("host", "core_host"):
            value = getattr(self, name)
            if not _LOOPBACK_V4.match(value):
                raise ConfigError(f"{name} must be an IPv4 loopback address, not {value!r}")
        for name in ("wss_port", "sip_port", "core_port"):
            value = getattr(self, name)
            if not 0 < value < 65536:
                raise ConfigError(f"{name} out of range: {value}")
        if self.core_transport not in ("udp", "tcp"):
            raise ConfigError(f"core transport must be udp or tcp, not {self.core_transport!r}")
        for origin in self.trusted_origins:
            if not _ORIGIN.match(origin):
                raise ConfigError(f"not a serialised origin (RFC 6454 §6.1): {origin!r}")
        if not 0 <= self.rtpengine_port < 65536:
            raise ConfigError(f"rtpengine_port out of range: {self.rtpengine_port}")
        if not 0 <= self.ws_keepalive_mechanism <= 2:
            raise ConfigError("ws_keepalive_mechanism must be 0, 1 or 2")
        if not _DOMAIN.match(self.domain):
            raise ConfigError(f"not a domain name: {self.domain!r}")
        for stage in ("first", "challenge_response", "later"):
            value = self.integrity_protected.get(stage, "")
            if not _INTEGRITY.match(value):
                raise ConfigError(f"integrity_protected {stage}: bad value {value!r}")
        for define in self.defines:
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*", define):
                raise ConfigError(f"bad define name {define!r}")


def origin_match(origins: Iterable[str]) -> str:
    """The Kamailio condition accepting exactly these Origin values (byte-wise, RFC 6454 §5)."""
    terms = [f'$hdr(Origin) == "{origin}"' for origin in origins]
    return " || ".join(terms) if terms else "0"


def scope_regex(scope: str) -> str:
    """A POSIX ERE matching `scope` literally (its only metacharacter can be '.')."""
    return scope.replace(".", "[.]")


def values(cfg: EpcscfConfig) -> dict[str, str]:
    defines = list(cfg.defines)
    if cfg.origins_check:
        defines.append("WITH_ORIGIN_CHECK")
    if cfg.rtpengine_port:
        defines.append("WITH_RTPENGINE")
    tna = cfg.tna
    if tna is not None:
        defines.append("WITH_TNA")
        if tna.validate:
            defines.append("WITH_TOKEN_VALIDATION")
    ip = cfg.integrity_protected
    define_lines = "\n".join(f"#!define {name}" for name in sorted(set(defines)))
    return {
        "DEFINES": define_lines,
        "DEBUG": str(cfg.debug),
        "HOST": cfg.host,
        "WSS_PORT": str(cfg.wss_port),
        "SIP_PORT": str(cfg.sip_port),
        "CORE_HOST": cfg.core_host,
        "CORE_PORT": str(cfg.core_port),
        "CORE_PROTO": cfg.core_transport,
        "TLS_CFG": str(cfg.tls_cfg),
        "ORIGIN_MATCH": origin_match(cfg.trusted_origins),
        "WS_KEEPALIVE_MECHANISM": str(cfg.ws_keepalive_mechanism),
        "WS_KEEPALIVE_TIMEOUT": str(cfg.ws_keepalive_timeout),
        "DOMAIN": cfg.domain,
        # without an issuer these sit in #!ifdef WITH_TNA blocks that Kamailio skips
        "ISSUER_BASE": tna.issuer_base if tna else "https://127.0.0.1:1",
        "ISSUER_PATH": tna.introspection_path if tna else "/introspect",
        "ISSUER_CA": str(tna.ca) if tna else "/nonexistent",
        "ISSUER_TIMEOUT": str(tna.timeout) if tna else "2",
        "AUDIENCE": tna.audience if tna else "",
        "SCOPE": tna.scope if tna else "",
        "SCOPE_RE": scope_regex(tna.scope) if tna else "",
        "IP_FIRST": ip["first"],
        "IP_CHALLENGE": ip["challenge_response"],
        "IP_LATER": ip["later"],
        "RTPENGINE_PORT": str(cfg.rtpengine_port or 1),  # in a #!ifdef WITH_RTPENGINE block
    }


def render(template: str, mapping: Mapping[str, str]) -> str:
    """Replace every @@NAME@@; an unknown or unused name is a bug in the template or driver."""
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in mapping:
            raise ConfigError(f"template placeholder @@{name}@@ has no value")
        used.add(name)
        return mapping[name]

    text = _PLACEHOLDER.sub(substitute, template)
    unused = set(mapping) - used
    if unused:
        raise ConfigError(f"values not used by the template: {sorted(unused)}")
    return text


def render_cfg(cfg: EpcscfConfig, template: Path = TEMPLATE) -> str:
    return render(template.read_text(encoding="utf-8"), values(cfg))


def render_tls_cfg(cert_chain: Path, key: Path) -> str:
    """The tls module's own file: one server profile for the WSS listener, no client certs."""
    return (
        "# wicct: TLS for Kamailio's WSS listener (generated)\n"
        "[server:default]\n"
        "method = TLSv1.2+\n"
        "verify_certificate = no\n"
        "require_certificate = no\n"
        f"certificate = {cert_chain}\n"
        f"private_key = {key}\n"
        "\n"
        "[client:default]\n"
        "method = TLSv1.2+\n"
        "verify_certificate = no\n"
        "require_certificate = no\n"
    )
