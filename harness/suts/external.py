"""SUTs that wicct neither starts nor drives: they are already running and configured.

`ExternalEpcscfDriver` (driver name `external`, role `epcscf`): the eP-CSCF under test runs
somewhere on its own. wicct cannot tell it where wicct's IMS-core stub listens, so the SUT
must be configured beforehand to use the address in the profile's `core.listen`, which must
therefore name a fixed port (`udp://127.0.0.1:5060`, not `:0`). Profile settings:
  sut.url: wss://host:port/   the SUT's WSS endpoint (required)
  sut.ca: /path/ca.pem        the CA that signed the SUT's certificate (a path, relative to
                              the profile's directory or else the current one), or `system`
                              for the system trust store. `generated` is refused: the run's
                              CA is made at run time, after the SUT was set up.
  sut.domain                  the SIP domain the SUT serves
  core.listen                 where wicct's IMS-core stub listens (fixed port)
  timers.start_timeout        bound of the reachability check (one TCP connection)

`ExternalWicDriver` (driver name `external`, role `wic`): a WIC that an operator or a CI
system has already pointed at wicct's eP-CSCF emulator, which therefore needs a fixed port:
  driver_options.listen_port: 7443   the port the WIC was pointed at (required); the
                                     emulator must listen there (wss://127.0.0.1:7443/)
  driver_options.register_wait: 0    seconds register() waits before returning
It cannot make the WIC do anything: `register()` only waits (the WIC connects and registers
by itself), the other verbs raise DriverError, `state()` is unknown. The WIC must trust the
run's CA (`WicEnv.ca_pem`), which is made when the run starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from harness.profiles import Profile
from harness.suts.base import (
    CaOrKeyUnusable,
    DriverError,
    EpcscfDriver,
    EpcscfEndpoint,
    EpcscfEnv,
    SutUnavailable,
    SutUnreachable,
    WicDriver,
    WicEnv,
    WicState,
)

DEFAULT_WSS_PORT = 443


def parse_wss_url(url: str) -> tuple[str, int]:
    """(host, port) of a `wss://host[:port]/...` URL; SutUnavailable naming the problem."""
    if not url:
        raise SutUnavailable("the profile gives no sut.url (wss://host:port/ of the eP-CSCF)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SutUnavailable(f"sut.url {url!r} does not parse: {exc}") from exc
    if parts.scheme.lower() != "wss":
        raise SutUnavailable(f"sut.url {url!r} is not a wss:// URL")
    if not parts.hostname:
        raise SutUnavailable(f"sut.url {url!r} names no host")
    return parts.hostname, port or DEFAULT_WSS_PORT


def resolve_ca(profile: Profile) -> Path | None:
    """The CA file of an eP-CSCF wicct did not set up (None: the system trust store)."""
    value = profile.ca.strip()
    if value == "system":
        return None
    if value in ("", "generated"):
        raise SutUnavailable(
            f"sut.ca {value or '(empty)'!r} cannot work for an eP-CSCF that wicct does not "
            "start: the run's CA is made at run time, after the SUT got its certificate. "
            "Give the PEM file of the CA that signed the SUT's certificate, or 'system'"
        )
    path = Path(value).expanduser()
    if not path.is_absolute():
        beside_profile = profile.path.parent / path
        path = beside_profile if beside_profile.is_file() else Path.cwd() / path
    if not path.is_file():
        raise CaOrKeyUnusable(f"sut.ca {value!r}: no such file ({path})")
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise CaOrKeyUnusable(f"sut.ca {path} is not a usable PEM CA certificate: {exc}") from exc
    return path


async def check_reachable(url: str, host: str, port: int, timeout: float) -> float:
    """Open (and close) one TCP connection to host:port within `timeout`; seconds it took.

    SutUnreachable("cannot reach <url>: <why>") when it fails. Only TCP: whether the TLS and
    WebSocket handshakes are right is for the cases to judge, not for the driver.
    """
    started = time.monotonic()
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        raise SutUnreachable(
            f"cannot reach {url}: no TCP connection within {timeout:g} s"
        ) from None
    except ConnectionRefusedError:
        raise SutUnreachable(f"cannot reach {url}: connection refused") from None
    except socket.gaierror as exc:
        raise SutUnreachable(
            f"cannot reach {url}: cannot resolve {host} ({exc.strerror})"
        ) from None
    except OSError as exc:
        raise SutUnreachable(f"cannot reach {url}: {exc.strerror or exc}") from None
    elapsed = time.monotonic() - started
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    return elapsed


def configured_core(profile: Profile) -> tuple[str, str, int]:
    """(transport, host, port) of `core.listen`; port 0 when the profile leaves it free."""
    parts = urlsplit(profile.core_listen)
    try:
        port = parts.port or 0
    except ValueError:
        port = 0
    return parts.scheme.lower(), parts.hostname or "", port


class ExternalEpcscfDriver(EpcscfDriver):
    """An eP-CSCF that is already running; wicct only checks that it can be reached."""

    name = "external"
    options: ClassVar[Mapping[str, str]] = {}

    def __init__(self) -> None:
        self.endpoint: EpcscfEndpoint | None = None
        self.connect_seconds: float | None = None

    async def start(self, env: EpcscfEnv) -> EpcscfEndpoint:
        profile = env.profile
        url = profile.url
        host, port = parse_wss_url(url)
        ca = resolve_ca(profile)
        self._check_core(env)
        self.connect_seconds = await check_reachable(url, host, port, profile.timers.start_timeout)
        env.log(
            f"external eP-CSCF at {url} accepts TCP ({self.connect_seconds * 1000:.1f} ms); "
            f"trust: {ca or 'system store'}; it must use wicct's IMS core at "
            f"{env.core_transport}://{env.core_host}:{env.core_port}"
        )
        self.endpoint = EpcscfEndpoint(
            ws_url=url, ca_pem=ca, domain=profile.domain, host=host, port=port
        )
        return self.endpoint

    def _check_core(self, env: EpcscfEnv) -> None:
        """The SUT was configured with core.listen: the stub must be exactly there."""
        transport, _host, port = configured_core(env.profile)
        actual = f"{env.core_transport}://{env.core_host}:{env.core_port}"
        if port == 0:
            env.log(
                f"warning: core.listen {env.profile.core_listen!r} has no fixed port, so the "
                f"IMS-core stub is at {actual} for this case only: an external eP-CSCF "
                "configured beforehand cannot be sending there (set a fixed port in core.listen)"
            )
            return
        if port != env.core_port or (transport and transport != env.core_transport.lower()):
            raise SutUnavailable(
                f"the eP-CSCF under test is configured for the IMS core at core.listen "
                f"{env.profile.core_listen}, but wicct's IMS-core stub is at {actual}"
            )

    async def stop(self) -> None:
        return None  # not ours to stop


class ExternalWicDriver(WicDriver):
    """A WIC already pointed at wicct's eP-CSCF emulator; wicct cannot make it act."""

    name = "external"
    options: ClassVar[Mapping[str, str]] = {
        "listen_port": "the fixed port the WIC was pointed at (required)",
        "register_wait": "seconds register() waits before returning",
    }

    def __init__(self) -> None:
        self._env: WicEnv | None = None
        self._register_wait = 0.0

    async def start(self, env: WicEnv) -> None:
        options = env.profile.driver_options
        if "listen_port" not in options:
            raise SutUnavailable(
                "the external WIC driver needs driver_options.listen_port: the fixed port of "
                "wicct's eP-CSCF emulator that the WIC was pointed at"
            )
        try:
            wanted = int(options["listen_port"])
        except (TypeError, ValueError):
            wanted = -1
        if not 0 < wanted < 65536:
            raise SutUnavailable(
                f"driver_options.listen_port {options['listen_port']!r} is not a port number"
            )
        try:
            actual = urlsplit(env.epcscf_url).port
        except ValueError:
            actual = None
        if actual != wanted:
            raise SutUnavailable(
                f"the WIC was pointed at port {wanted} (driver_options.listen_port) but "
                f"wicct's eP-CSCF emulator is at {env.epcscf_url}"
            )
        try:
            self._register_wait = max(0.0, float(options.get("register_wait", 0) or 0))
        except (TypeError, ValueError):
            raise SutUnavailable(
                f"driver_options.register_wait {options['register_wait']!r} is not a number"
            ) from None
        self._env = env
        env.log(
            f"external WIC: expected to connect by itself to {env.epcscf_url}, trusting the "
            f"run's CA {env.ca_pem}"
        )

    async def register(self) -> None:
        """Nothing to command: the WIC connects and registers by itself."""
        if self._env is None:
            raise DriverError("register: the external WIC driver was not started")
        wait = self._register_wait
        self._env.log(
            f"external WIC: not commanded, waiting for it to register at {self._env.epcscf_url}"
        )
        if wait > 0:
            await asyncio.sleep(wait)

    async def call(self, target: str) -> None:
        raise _cannot("call")

    async def answer(self) -> None:
        raise _cannot("answer")

    async def hangup(self) -> None:
        raise _cannot("hang up")

    async def unregister(self) -> None:
        raise _cannot("unregister")

    async def state(self) -> WicState:
        return WicState(detail="unknown (external)")

    async def stop(self) -> None:
        self._env = None


def _cannot(verb: str) -> DriverError:
    return DriverError(
        f"the external driver cannot make the WIC {verb}: use the manual or http driver"
    )


__all__ = [
    "ExternalEpcscfDriver",
    "ExternalWicDriver",
    "check_reachable",
    "configured_core",
    "parse_wss_url",
    "resolve_ca",
]
