"""The hostile WIC (profile `role: wic`, `driver: hostile`): a client that connects to
wicct's eP-CSCF emulator when told to register, and misbehaves as
`driver_options.behaviour` says (`harness.suts.hostile.matrix`).

It trusts the run's CA and checks the emulator's name (RFC 7118 §9.1) when it does TLS at
all; its upgrade request is websockets' own (`ClientProtocol`, Origin = the profile's
`wwsf_origin`, subprotocol `sip`) unless the row is about the handshake. It has no call
control: `call`, `answer` and `hangup` raise DriverError (the case is INCONCLUSIVE). In the
rows that answer requests it first sends a REGISTER, and says it is registered once a 2xx
to it came (what it reports is true), so that wicct's cases go on to send it requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
import ssl
from collections.abc import Mapping
from typing import ClassVar

from websockets.client import ClientProtocol
from websockets.http11 import Response
from websockets.protocol import State
from websockets.typing import Origin, Subprotocol
from websockets.uri import parse_uri

from harness.profiles import Profile
from harness.suts.base import DriverError, SutUnavailable, WicDriver, WicEnv, WicState
from harness.suts.hostile.behaviours import after_upgrade, send_head
from harness.suts.hostile.loop import PeerLoop
from harness.suts.hostile.matrix import behaviours, check_behaviour
from harness.suts.hostile.wire import READ_CHUNK, Wire

# rows that answer requests register first, so that wicct's cases send them requests
REGISTERS_FIRST = ("torture-responses", "duplicated-responses", "unrelated-responses")
# `many-connections`: WebSockets opened at once and held. Half again wicct's limit
# (`MAX_WIC_CONNECTIONS`, 32) is enough to show the limit holding; more only measures
# the peer's own memory, which shares wicct's process here (about 350 KiB a TLS client:
# asyncio's 256 KiB read buffer), not wicct's
CONNECTIONS = 48


def register_request(profile: Profile, url: str) -> bytes:
    """A plain REGISTER over the WebSocket (RFC 7118 §5.2: `.invalid` sent-by), no credentials."""
    impu = profile.impu
    tag, branch, call_id = (secrets.token_hex(4) for _ in range(3))
    return (
        f"REGISTER sip:{profile.domain} SIP/2.0\r\n"
        f"Via: SIP/2.0/WSS hostile.invalid;branch=z9hG4bK{branch}\r\n"
        f"Max-Forwards: 70\r\nFrom: <{impu}>;tag={tag}\r\nTo: <{impu}>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 REGISTER\r\n"
        f"Contact: <sip:hostile@hostile.invalid;transport=ws>\r\nExpires: 600\r\n"
        f"Content-Length: 0\r\n\r\n"
    ).encode()


@functools.lru_cache(maxsize=4)
def client_context(cafile: str) -> ssl.SSLContext:
    """One TLS client context per CA file, shared by the connections of `many-connections`
    (a context each holds its own copy of the trust store)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=cafile)
    return context


class HostileClient:
    """One connection attempt of the hostile WIC, on the peer's own loop."""

    def __init__(self, env: WicEnv, behaviour: str, log: list[str]) -> None:
        self.env = env
        self.behaviour = behaviour
        self.log = log
        self.wire: Wire | None = None
        self.open = False

    def tls(self) -> ssl.SSLContext:
        return client_context(str(self.env.ca_pem))

    async def run(self) -> None:
        uri = parse_uri(self.env.epcscf_url)
        tls = None if self.behaviour == "stall-after-tcp" else self.tls()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(uri.host, uri.port, ssl=tls), 5.0
            )
        except (OSError, TimeoutError) as exc:
            self.log.append(f"cannot connect to {self.env.epcscf_url}: {exc!r}")
            return
        protocol = ClientProtocol(
            uri, origin=Origin(self.env.profile.wwsf_origin), subprotocols=[Subprotocol("sip")]
        )
        wire = self.wire = Wire(reader, writer, protocol)
        try:
            await self._act(wire, protocol)
        except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
            self.log.append(f"connection ended: {exc!r}")
        finally:
            self.open = False
            wire.close()

    async def _act(self, wire: Wire, protocol: ClientProtocol) -> None:
        self.log.append(f"connected to {self.env.epcscf_url}: {self.behaviour}")
        if self.behaviour in ("stall-after-tcp", "stall-after-tls"):
            await wire.discard_forever()
            return
        request = protocol.connect()
        if self.behaviour == "deflate-bomb":  # offered; wicct's emulator never accepts it
            request.headers["Sec-WebSocket-Extensions"] = "permessage-deflate"
        protocol.send_request(request)
        if not await send_head(wire, b"".join(protocol.data_to_send()), self.behaviour):
            return
        if not await self._upgraded(wire, protocol):
            return
        self.open = True
        if self.behaviour in REGISTERS_FIRST:
            await wire.send_text(register_request(self.env.profile, self.env.epcscf_url))
        await after_upgrade(wire, self.behaviour)

    async def _upgraded(self, wire: Wire, protocol: ClientProtocol) -> bool:
        while True:
            data = await wire.reader.read(READ_CHUNK)
            if not data:
                self.log.append("closed before the upgrade was answered")
                return False
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, Response):
                    ok = protocol.state is State.OPEN
                    self.log.append(f"upgrade answered {event.status_code}; open: {ok}")
                    return ok


class HostileWicDriver(WicDriver):
    """A built-in hostile WIC, one misbehaviour per profile (issue 11 item 3)."""

    name = "hostile"
    options: ClassVar[Mapping[str, str]] = {
        "behaviour": "the row of the hostile-SUT matrix (harness/suts/hostile/matrix.py)",
    }
    concurrent_cases = True  # a fresh client per case, on the emulator's free port

    def __init__(self) -> None:
        self.env: WicEnv | None = None
        self.peer: PeerLoop | None = None
        self.client: HostileClient | None = None
        self.extra: list[HostileClient] = []
        self.log: list[str] = []

    @classmethod
    def check_options(cls, profile: Profile) -> list[tuple[str, str]]:
        return check_behaviour(profile)

    async def start(self, env: WicEnv) -> None:
        behaviour = str(env.profile.driver_options.get("behaviour", ""))
        if behaviour not in behaviours("wic"):
            raise SutUnavailable(f"no hostile WIC behaviour {behaviour!r}")
        self.env = env
        self.peer = PeerLoop(f"hostile-wic-{behaviour}")
        self.log.append(f"loaded for {env.epcscf_url}: {behaviour}")

    async def register(self) -> None:
        if self.env is None or self.peer is None:
            raise DriverError("register: the hostile WIC is not started")
        behaviour = str(self.env.profile.driver_options["behaviour"])
        self.client = HostileClient(self.env, behaviour, self.log)
        self.peer.spawn(self.client.run())
        if behaviour == "many-connections":  # more, each upgraded and held
            self.extra = [HostileClient(self.env, behaviour, []) for _ in range(CONNECTIONS - 1)]
            for client in self.extra:
                self.peer.spawn(client.run())

    async def call(self, target: str) -> None:
        raise DriverError("call: the hostile WIC has no call control")

    async def answer(self) -> None:
        raise DriverError("answer: the hostile WIC has no call control")

    async def hangup(self) -> None:
        raise DriverError("hangup: the hostile WIC has no call control")

    async def state(self) -> WicState:
        client = self.client
        wire = client.wire if client is not None else None
        return WicState(
            connected=client is not None and client.open,
            registered=wire is not None and wire.registered,
            detail=f"hostile WIC: {self.env.profile.driver_options['behaviour'] if self.env else ''}",
        )

    async def stop(self) -> None:
        peer, self.peer = self.peer, None
        if peer is not None:
            with contextlib.suppress(Exception):
                await peer.stop()

    def log_text(self) -> str:
        return "\n".join(self.log)
