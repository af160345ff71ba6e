"""The hostile eP-CSCF (profile `role: epcscf`, `driver: hostile`): a WSS server on a
loopback port of its own that misbehaves as `driver_options.behaviour` says
(`harness.suts.hostile.matrix`). It never forwards anything to wicct's IMS-core stub.

Its certificate comes from the run's CA (RFC 7118 §9.1), except in the certificate rows:
a CA wicct does not trust, a leaf that expired yesterday, a leaf for another name (RFC
6125 §6), all made with trustme. `stall-after-tcp` listens without TLS at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import trustme
from websockets.http11 import Request
from websockets.server import ServerProtocol
from websockets.typing import Subprotocol

from harness.profiles import Profile
from harness.suts.base import EpcscfDriver, EpcscfEndpoint, EpcscfEnv, SutUnavailable
from harness.suts.hostile.behaviours import after_upgrade, send_head
from harness.suts.hostile.loop import PeerLoop
from harness.suts.hostile.matrix import behaviours, check_behaviour
from harness.suts.hostile.wire import READ_CHUNK, Wire

HOST = "127.0.0.1"


def certificate(env: EpcscfEnv, behaviour: str) -> tuple[Path, Path]:
    """(chain, key) files of the server certificate the row presents."""
    if behaviour == "untrusted-cert":
        leaf = trustme.CA(organization_name="hostile untrusted CA").issue_cert(HOST, "localhost")
    elif behaviour == "expired-cert":
        now = dt.datetime.now(dt.UTC)
        leaf = env.pki.ca.issue_cert(
            HOST, "localhost", not_before=now - dt.timedelta(days=2),
            not_after=now - dt.timedelta(days=1),
        )
    elif behaviour == "wrong-name-cert":
        leaf = env.pki.ca.issue_cert("wrong-name.example.test")
    else:
        files = env.pki.leaf()
        return files.cert_chain, files.key
    chain = env.workdir / f"hostile-{behaviour}.pem"
    key = env.workdir / f"hostile-{behaviour}.key"
    chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    key.chmod(0o600)
    return chain, key


class HostileServer:
    """The listening socket and its connections, on the peer's own loop."""

    def __init__(self, behaviour: str, tls: ssl.SSLContext | None, log: list[str]) -> None:
        self.behaviour = behaviour
        self.tls = tls
        self.log = log
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.serve, HOST, 0, ssl=self.tls)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self.log.append(f"connection from {peer}: {self.behaviour}")
        protocol = ServerProtocol(subprotocols=[Subprotocol("sip")])
        wire = Wire(reader, writer, protocol)
        try:
            if self.behaviour in ("stall-after-tcp", "stall-after-tls"):
                await wire.discard_forever()
                return
            request = await self._request(wire)
            if request is None:
                return
            await self._answer_upgrade(wire, request)
        except (OSError, EOFError, asyncio.IncompleteReadError) as exc:
            self.log.append(f"connection from {peer} ended: {exc!r}")
        finally:
            wire.close()

    async def _request(self, wire: Wire) -> Request | None:
        """The client's upgrade request, or None if the connection ended first."""
        while True:
            data = await wire.reader.read(READ_CHUNK)
            if not data:
                return None
            wire.protocol.receive_data(data)
            for event in wire.protocol.events_received():
                if isinstance(event, Request):
                    return event

    async def _answer_upgrade(self, wire: Wire, request: Request) -> None:
        protocol = wire.protocol
        assert isinstance(protocol, ServerProtocol)
        response = protocol.accept(request)
        if self.behaviour == "wrong-accept":
            del response.headers["Sec-WebSocket-Accept"]
            response.headers["Sec-WebSocket-Accept"] = "dGhpcyBpcyBub3QgaXQ="
        if self.behaviour == "deflate-bomb":  # an extension wicct never offered (RFC 6455 §9.1)
            response.headers["Sec-WebSocket-Extensions"] = "permessage-deflate"
        protocol.send_response(response)
        if await send_head(wire, b"".join(protocol.data_to_send()), self.behaviour):
            await after_upgrade(wire, self.behaviour)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                self.server.close_clients()  # type: ignore[attr-defined]


def server_context(chain: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(chain), str(key))
    return context


class HostileEpcscfDriver(EpcscfDriver):
    """A built-in hostile eP-CSCF, one misbehaviour per profile (issue 11 item 3)."""

    name = "hostile"
    options: ClassVar[Mapping[str, str]] = {
        "behaviour": "the row of the hostile-SUT matrix (harness/suts/hostile/matrix.py)",
    }
    ignores: ClassVar[Mapping[str, str]] = {
        "sut.url": "it starts its own server and reports the URL",
        "sut.ca": "its certificate comes from the run's CA unless the row says otherwise",
    }
    concurrent_cases = True  # a fresh server on a free port per case

    def __init__(self) -> None:
        self.peer: PeerLoop | None = None
        self.server: HostileServer | None = None
        self.log: list[str] = []

    @classmethod
    def check_options(cls, profile: Profile) -> list[tuple[str, str]]:
        return check_behaviour(profile)

    async def start(self, env: EpcscfEnv) -> EpcscfEndpoint:
        behaviour = str(env.profile.driver_options.get("behaviour", ""))
        if behaviour not in behaviours("epcscf"):
            raise SutUnavailable(f"no hostile eP-CSCF behaviour {behaviour!r}")
        tls = None
        if behaviour != "stall-after-tcp":
            tls = server_context(*certificate(env, behaviour))
        self.peer = PeerLoop(f"hostile-epcscf-{behaviour}")
        self.server = HostileServer(behaviour, tls, self.log)
        port = await self.peer.run(self.server.start(), env.profile.timers.start_timeout)
        env.log(f"hostile eP-CSCF ({behaviour}) on wss://{HOST}:{port}/")
        return EpcscfEndpoint(
            ws_url=f"wss://{HOST}:{port}/", ca_pem=env.pki.ca_pem,
            domain=env.profile.domain, host=HOST, port=port,
        )

    async def stop(self) -> None:
        peer, server = self.peer, self.server
        self.peer = self.server = None
        if peer is None:
            return
        if server is not None:
            with contextlib.suppress(Exception):
                await peer.run(server.stop(), 2.0)
        await peer.stop()

    def log_text(self) -> str:
        return "\n".join(self.log)
