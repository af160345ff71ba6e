"""SUT drivers: what brings a system under test up, and (for a WIC) makes it act.

A profile names its driver (`reference`, `kamailio`, `browser`, `external`, `manual`).
wicct plays the other side; the driver only owns the SUT's life cycle and, for a WIC, the
user's verbs (register, call, answer, hang up). Verbs return once the command was given;
what the SUT then puts on the wire is judged by the case, never by the driver.

Writing a driver for your own product: subclass `EpcscfDriver` or `WicDriver`, implement
the abstract methods, and register the class in `harness.suts.registry.DRIVERS` (or name it
as `module:Class` in the profile). Declare `options` (the `driver_options` keys it reads)
and `ignores` (profile settings of the role it does not read) so a profile's mistakes are
reported when it is loaded (harness.suts.checks); `check_options` adds checks of their values.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

from harness.actors.token_issuer import IssuerEndpoint
from harness.pki import Pki
from harness.profiles import Profile


class SutUnavailable(Exception):
    """The SUT could not be started or reached: the case is INCONCLUSIVE with this reason.

    Raised by the pre-flight probe of a profile (harness.preflight) it is a set-up failure:
    the run exits 2 and the profile's cases are not tried. The subclasses below say why;
    `kind` is the word the report and the CLI use, `label` what a reason starts with.
    """

    kind = "unavailable"
    label = "SUT unavailable"


class SutUnreachable(SutUnavailable):
    """No TCP connection to the SUT (refused, no route, nothing within the timeout)."""

    kind = "unreachable"


class TlsVerificationFailed(SutUnavailable):
    """The SUT's certificate failed verification (unknown CA, expired, wrong name) or TLS
    itself failed (alert, protocol mismatch)."""

    kind = "tls-verification"


class HandshakeTimeout(SutUnavailable):
    """TCP was accepted but TLS, or the answer to the WebSocket upgrade, did not come
    within `timers.handshake_timeout` (or the SUT closed without answering)."""

    kind = "no-handshake"


class CaOrKeyUnusable(SutUnavailable):
    """A CA or key file the profile names is missing, unreadable or not PEM."""

    kind = "ca-or-key"


class PortInUse(SutUnavailable):
    """A port wicct must listen on (a fixed one from the profile) is taken: an environment
    error, not the SUT's fault and not a wicct bug."""

    kind = "port-in-use"
    label = "environment error"


class DriverError(Exception):
    """The driver could not carry out a verb (the WIC app refused, the page crashed...)."""


@dataclass(frozen=True, kw_only=True)
class EpcscfEnv:
    """What wicct gives an eP-CSCF driver: where its next hop (wicct's IMS-core stub) is."""

    profile: Profile
    pki: Pki  # the run's CA: issue the SUT's WSS certificate from it
    core_host: str
    core_port: int
    core_transport: str  # "udp" or "tcp"
    workdir: Path
    log: Callable[[str], object] = print  # what it returns is ignored
    # wicct's token issuer (the WWSF's authorization server) when the profile claims
    # `web-credentials`: where the eP-CSCF validates bearer tokens (RFC 8898 §2.2)
    issuer: IssuerEndpoint | None = None


@dataclass(frozen=True, kw_only=True)
class EpcscfEndpoint:
    ws_url: str  # wss://host:port/
    ca_pem: Path | None  # CA that signed the SUT certificate; None: system trust
    domain: str
    host: str
    port: int


@dataclass(frozen=True, kw_only=True)
class WicEnv:
    """What wicct gives a WIC driver: the eP-CSCF (wicct's emulator) the WIC must use."""

    profile: Profile
    pki: Pki
    epcscf_url: str  # wss://127.0.0.1:PORT/
    ca_pem: Path  # the CA the WIC is told to trust (the run's CA)
    workdir: Path
    log: Callable[[str], object] = print  # what it returns is ignored
    # the bearer token the WIC registers with when the profile claims `web-credentials`
    # (WIC-REG-02; minted by wicct's issuer, or the profile's credentials.token). A secret.
    token: str = ""


@dataclass(frozen=True, kw_only=True)
class WicState:
    connected: bool = False
    registered: bool = False
    in_call: bool = False
    incoming: bool = False  # an incoming call is waiting to be answered
    detail: str = ""
    extra: dict[str, object] = field(default_factory=dict)


class _Declared:
    """What a driver declares about the profile settings it reads (checked at load)."""

    # driver_options keys this driver reads → one-line meaning. None: not declared, so
    # unknown keys cannot be told from known ones and are not checked.
    options: ClassVar[Mapping[str, str] | None] = None
    # Profile settings (dotted keys) that the role uses but this driver does not → why. A
    # profile setting one of them gets a warning in the CLI output and the report.
    ignores: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def check_options(cls, profile: Profile) -> list[tuple[str, str]]:
        """Problems with the values of the profile's settings: (dotted key, message) pairs,
        each a profile error (exit 2) at `file:line` of that key. Default: none."""
        return []


class EpcscfDriver(_Declared, abc.ABC):
    name = "abstract"
    # True: every start() brings up a SUT instance of its own (own process, own ports), so
    # cases may run concurrently (`wicct run --jobs N`). False (the default, and what a
    # driver of one running product must keep): the profile's cases run one at a time.
    concurrent_cases = False
    # False: the pre-flight probe does not call start() (e.g. it would ask an operator).
    preflight_start = True

    @abc.abstractmethod
    async def start(self, env: EpcscfEnv) -> EpcscfEndpoint:
        """Bring the eP-CSCF up; raise SutUnavailable with a reason if it cannot."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop it; never raises, never waits without a timeout."""

    def log_text(self) -> str:
        """The SUT's own log for this case, kept as evidence ("" if none)."""
        return ""


class WicDriver(_Declared, abc.ABC):
    """A WIC's driver. Besides the verbs, a driver whose WIC is a web page served under an
    origin that is only known once it started (a port chosen at start) sets `origin`."""

    name = "abstract"
    # The WIC's effective web origin (RFC 6454 serialisation, e.g. "http://127.0.0.1:41234"),
    # set by start(): the Origin the WIC will send in its WebSocket handshake, which
    # WIC-HS-02 then expects instead of the profile's `wwsf_origin`. Leave it "" when the
    # profile's `wwsf_origin` is already exact (a native app, a page at a fixed origin).
    origin: str = ""
    concurrent_cases = False  # see EpcscfDriver
    preflight_start = True

    @abc.abstractmethod
    async def start(self, env: WicEnv) -> None:
        """Bring the WIC application up (loaded, not yet connected)."""

    @abc.abstractmethod
    async def register(self) -> None:
        """Make the WIC connect to env.epcscf_url and REGISTER."""

    @abc.abstractmethod
    async def call(self, target: str) -> None:
        """Make the WIC place a call (INVITE with a JSEP offer) to `target`."""

    @abc.abstractmethod
    async def answer(self) -> None:
        """Make the WIC accept the incoming call (it sends 180 first on its own)."""

    @abc.abstractmethod
    async def hangup(self) -> None:
        """Make the WIC release the current call (BYE or CANCEL)."""

    @abc.abstractmethod
    async def state(self) -> WicState:
        """What the WIC application itself reports."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Tear the WIC down; never raises, never waits without a timeout."""

    async def unregister(self) -> None:
        raise DriverError(f"driver {self.name} cannot unregister")

    def log_text(self) -> str:
        return ""


_T = TypeVar("_T")


async def start_within(start: Awaitable[_T], profile: Profile, what: str) -> _T:
    """A driver's `start()`, bounded by the profile's `start_timeout`: a SUT that does not
    come up is SutUnavailable naming `what`, never a hang."""
    timeout = profile.timers.start_timeout
    try:
        return await asyncio.wait_for(start, timeout)
    except TimeoutError:
        raise SutUnavailable(f"{what} did not start within {timeout:g} s") from None
