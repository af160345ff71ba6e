"""The pre-flight probe of a profile: is its SUT there at all, before any case is tried?

A dead SUT must never give a green run. Before the first case of a profile, wicct brings
the profile's set-up up once, the way a case would, and checks that it can work:

- eP-CSCF SUT: the IMS-core stub binds (`core.listen`), the driver starts the SUT (or, for
  an external one, finds its CA file and reaches it), then one TCP connection to the SUT's
  `wss://` URL, a TLS handshake verified like the cases' (`sut.ca`, `sut.tls_verify`), and
  one WebSocket upgrade request that must get *some* HTTP answer within
  `timers.handshake_timeout`. Whether that answer is right (101, the `sip` subprotocol, a
  403 for a foreign Origin) is for the cases to judge, never for the probe.
- WIC SUT: the eP-CSCF emulator binds (a fixed `driver_options.listen_port` may be taken),
  and the driver starts the WIC (Chromium launches, the reference WIC loads).

A probe that fails raises a `SutUnavailable` subclass naming why (`SutUnreachable`,
`TlsVerificationFailed`, `HandshakeTimeout`, `CaOrKeyUnusable`, `PortInUse`; the plain
class for a driver that cannot start its SUT): a set-up failure, after which the profile's
cases are not tried and `wicct run` exits 2. Drivers with `preflight_start = False` (the
manual ones, whose start() asks an operator) are not started by the probe; only wicct's own
listeners and the profile's CA file are checked for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import SecurityError
from websockets.http11 import Response
from websockets.typing import Origin, Subprotocol
from websockets.uri import parse_uri

from harness.actors.core import CoreStub
from harness.actors.epcscf_emulator import EpcscfEmulator
from harness.evidence import Redactor, Timeline
from harness.pki import Pki, client_context
from harness.profiles import Profile
from harness.suts.base import (
    EpcscfDriver,
    EpcscfEndpoint,
    EpcscfEnv,
    HandshakeTimeout,
    PortInUse,
    SutUnavailable,
    SutUnreachable,
    TlsVerificationFailed,
    WicDriver,
    WicEnv,
    start_within,
)
from harness.suts.external import resolve_ca
from harness.suts.registry import driver_class
from harness.ws.tls import error_text

STOP_TIMEOUT = 10.0


async def probe(profile: Profile, pki: Pki, workdir: Path) -> str:
    """Probe `profile`'s set-up once; a one-line account of what answered, or raises a
    `SutUnavailable` subclass (a set-up failure). Anything else raised is a wicct bug."""
    redactor = Redactor()
    for secret in profile.secrets:
        redactor.add(secret)
    timeline = Timeline(redactor)  # the probe's own: never part of a case's evidence
    if profile.role == "epcscf":
        return await _probe_epcscf(profile, pki, workdir, timeline)
    return await _probe_wic(profile, pki, workdir, timeline)


@contextlib.asynccontextmanager
async def _listening(what: str, start: Awaitable[Any]) -> AsyncIterator[None]:
    """Await wicct's own listener `start`; a taken address becomes PortInUse."""
    try:
        await start
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(f"{what}: {exc.strerror or exc}") from exc
        raise
    yield


async def _bounded(what: Awaitable[Any]) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(what, STOP_TIMEOUT)


async def _probe_epcscf(profile: Profile, pki: Pki, workdir: Path, timeline: Timeline) -> str:
    core = CoreStub(timeline, profile)
    try:
        async with _listening("IMS-core stub", core.start()):
            cls = driver_class(profile.role, profile.driver)
            if not cls.preflight_start:
                if profile.ca.strip() not in ("", "generated", "system"):
                    resolve_ca(profile)
                return f"{profile.driver} driver not started by the probe; core stub bound"
            driver = cls()
            if not isinstance(driver, EpcscfDriver):
                raise SutUnavailable(f"driver {profile.driver!r} is not an eP-CSCF driver")
            env = EpcscfEnv(
                profile=profile,
                pki=pki,
                core_host=core.host,
                core_port=core.port,
                core_transport=core.transport,
                workdir=workdir,
                log=lambda _text: None,
            )
            try:
                endpoint = await start_within(driver.start(env), profile, f"{profile.driver} eP-CSCF")
                return await probe_endpoint(endpoint, profile)
            finally:
                await _bounded(driver.stop())
    finally:
        await _bounded(core.stop())


async def _probe_wic(profile: Profile, pki: Pki, workdir: Path, timeline: Timeline) -> str:
    emulator = EpcscfEmulator(timeline=timeline, profile=profile, pki=pki, workdir=workdir)
    try:
        async with _listening("eP-CSCF emulator", emulator.start()):
            cls = driver_class(profile.role, profile.driver)
            if not cls.preflight_start:
                return f"{profile.driver} driver not started by the probe; emulator bound"
            driver = cls()
            if not isinstance(driver, WicDriver):
                raise SutUnavailable(f"driver {profile.driver!r} is not a WIC driver")
            env = WicEnv(
                profile=profile,
                pki=pki,
                epcscf_url=emulator.url,
                ca_pem=pki.ca_pem,
                workdir=workdir,
                log=lambda _text: None,
            )
            try:
                await start_within(driver.start(env), profile, f"the WIC ({profile.driver})")
                return f"the WIC ({profile.driver}) started"
            finally:
                await _bounded(driver.stop())
    finally:
        await _bounded(emulator.stop())


async def probe_endpoint(endpoint: EpcscfEndpoint, profile: Profile) -> str:
    """TCP, TLS (verified as the cases verify) and one upgrade request that must get some
    HTTP answer; a `SutUnavailable` subclass saying which of the three did not happen."""
    url, host, port = endpoint.ws_url, endpoint.host, endpoint.port
    started = time.monotonic()
    connect = profile.timers.start_timeout
    handshake = profile.timers.handshake_timeout
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), connect)
    except TimeoutError:
        raise SutUnreachable(f"cannot reach {url}: no TCP connection within {connect:g} s") from None
    except ConnectionRefusedError:
        raise SutUnreachable(f"cannot reach {url}: connection refused") from None
    except socket.gaierror as exc:
        raise SutUnreachable(f"cannot reach {url}: cannot resolve {host} ({exc.strerror})") from None
    except OSError as exc:
        raise SutUnreachable(f"cannot reach {url}: {exc.strerror or exc}") from None
    try:
        if url.startswith("wss:"):
            context = client_context(endpoint.ca_pem, verify=profile.tls_verify)
            await _start_tls(writer, context, host, url, handshake)
        protocol = _client_protocol(url, profile)
        protocol.send_request(protocol.connect())
        writer.write(b"".join(protocol.data_to_send()))
        try:
            status = await asyncio.wait_for(_whole_answer(reader, protocol, url), handshake)
        except TimeoutError:
            raise HandshakeTimeout(
                f"{url} completed TLS but sent no answer to a WebSocket upgrade request "
                f"within {handshake:g} s (a whole HTTP response; timers.handshake_timeout)"
            ) from None
    finally:
        writer.transport.abort()
    return f"{url} answered the upgrade ({status!r}) in {time.monotonic() - started:.3f} s"


async def _start_tls(
    writer: asyncio.StreamWriter, context: ssl.SSLContext, host: str, url: str, timeout: float
) -> None:
    try:
        await asyncio.wait_for(
            writer.start_tls(context, server_hostname=host, ssl_handshake_timeout=timeout),
            timeout + 0.5,
        )
    except ssl.SSLCertVerificationError as exc:
        raise TlsVerificationFailed(
            f"the certificate of {url} failed verification: {exc.verify_message or error_text(exc)}"
        ) from None
    except ssl.SSLError as exc:
        raise TlsVerificationFailed(f"TLS with {url} failed: {error_text(exc)}") from None
    except (TimeoutError, ConnectionAbortedError):
        raise HandshakeTimeout(
            f"{url} accepted TCP but completed no TLS handshake within {timeout:g} s "
            "(timers.handshake_timeout)"
        ) from None
    except (ConnectionError, OSError, EOFError) as exc:
        raise HandshakeTimeout(
            f"{url} closed the connection during the TLS handshake ({error_text(exc)})"
        ) from None


def _client_protocol(url: str, profile: Profile) -> ClientProtocol:
    """websockets' client side, as the cases use it: an RFC 6455 §4.1 opening handshake
    asking for the `sip` subprotocol (RFC 7118 §4), Origin the first trusted origin."""
    origin = profile.trusted_origins[0] if profile.trusted_origins else profile.wwsf_origin
    return ClientProtocol(parse_uri(url), origin=Origin(origin), subprotocols=[Subprotocol("sip")])


async def _whole_answer(reader: asyncio.StreamReader, protocol: ClientProtocol, url: str) -> str:
    """Read until websockets' parser has a whole HTTP response (its status, as text).

    An answer websockets refuses for its limits (a line over 8 kB, over 128 headers) is an
    answer the cases judge: the probe says so and lets them run. Half a response before
    the connection closes, or octets that are not HTTP, are no answer: a set-up failure."""
    while True:
        try:
            data = await reader.read(65536)
        except OSError as exc:
            raise HandshakeTimeout(
                f"{url} broke the connection before a whole answer to a WebSocket upgrade "
                f"request ({error_text(exc)})"
            ) from None
        if data:
            protocol.receive_data(data)
        else:
            protocol.receive_eof()
        for event in protocol.events_received():
            if isinstance(event, Response):
                return f"{event.status_code} {event.reason_phrase}"
        refused = protocol.handshake_exc
        limit = refused if isinstance(refused, SecurityError) else getattr(refused, "__cause__", None)
        if isinstance(limit, SecurityError):
            return f"an answer over websockets' limits ({limit})"
        if refused is not None or not data:
            why = f"{type(refused).__name__}: {refused}" if refused is not None else "closed"
            raise HandshakeTimeout(
                f"{url} sent no whole HTTP answer to a WebSocket upgrade request ({why})"
            )
