"""Run by test_load_units in a process of its own (gevent patches `socket` here): a `Wire`
against a WebSocket server in the same process that echoes text messages except those
starting with "silent" (no answer) or "ping" (a Ping, no echo); prints what each wait
returned and how long it took, as JSON: timed waits over TCP, then waits under a `Watch`
(as Locust's users await responses) over TCP and over TLS, each ended by a silence the
watch expires."""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
import trustme  # noqa: E402
from gevent.socket import wait_read  # noqa: E402
from websockets.frames import Frame, Opcode  # noqa: E402
from websockets.http11 import Request  # noqa: E402
from websockets.server import ServerProtocol  # noqa: E402
from websockets.typing import Subprotocol  # noqa: E402

from harness.load.wire import Watch, Wire, WireError  # noqa: E402


def serve(listener: socket.socket, context: ssl.SSLContext | None = None,
          pongs: list[bytes] | None = None) -> None:
    raw, _ = listener.accept()
    conn = context.wrap_socket(raw, server_side=True) if context is not None else raw
    protocol = ServerProtocol(subprotocols=[Subprotocol("sip")])
    while True:
        try:
            data = conn.recv(65536)
        except OSError:
            return
        if not data:
            return
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Request):
                protocol.send_response(protocol.accept(event))
            elif isinstance(event, Frame) and event.opcode is Opcode.PONG and pongs is not None:
                pongs.append(bytes(event.data))
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                text = bytes(event.data)
                if text.startswith(b"ping"):
                    protocol.send_ping(b"p")  # the client's Pong is sent while it waits
                elif not text.startswith(b"silent"):
                    protocol.send_text(text)
        for out in protocol.data_to_send():
            conn.sendall(out)


def waits(wire: Wire, plan: tuple[tuple[str, float], ...], watched: bool = False) -> list[dict[str, Any]]:
    steps = []
    for text, wait in plan:
        wire.send(text.encode())
        started = time.monotonic()
        got = wire.receive(started + wait, watched=watched)
        steps.append({"sent": text, "wait": wait, "got": [m.payload.decode() for m in got],
                      "seconds": time.monotonic() - started})
    return steps


def sweep(watch: Watch) -> None:
    while True:
        gevent.sleep(Watch.SWEEP)
        watch.expire(time.monotonic())


def watched(tls: bool) -> dict[str, Any]:
    """Two echoes, then a Ping and silence, awaited under a watch; then what sending again
    does."""
    listener = socket.create_server(("127.0.0.1", 0))
    server_context, client_context = None, None
    if tls:
        ca = trustme.CA()
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(server_context)
        client_context = ssl.create_default_context()
        ca.configure_trust(client_context)
    pongs: list[bytes] = []
    gevent.spawn(serve, listener, server_context, pongs)
    watch = Watch(wait_read)
    sweeper = gevent.spawn(sweep, watch)
    port = listener.getsockname()[1]
    wire = Wire(f"{'wss' if tls else 'ws'}://127.0.0.1:{port}/", client_context, "127.0.0.1",
                "https://wwsf.invalid", 5.0, watch=watch)
    wire.open()
    steps = waits(wire, (("echo 1", 5.0), ("echo 2", 5.0), ("ping 1", 0.5)), watched=True)
    try:
        wire.send(b"echo 3")
        after = "sent"
    except WireError as exc:
        after = exc.cause
    wire.close()
    sweeper.kill()
    return {"steps": steps, "after": after, "waiting": len(watch.waiting),
            "pongs": [p.decode() for p in pongs]}


def main() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    gevent.spawn(serve, listener)
    port = listener.getsockname()[1]
    wire = Wire(f"ws://127.0.0.1:{port}/", None, "127.0.0.1", "https://wwsf.invalid", 5.0)
    wire.open()
    # a short wait after a long one, a long wait after a short one that data ended, and the
    # connection used after each wait that ran out
    steps = waits(wire, (("echo 1", 5.0), ("silent 1", 0.3), ("echo 2", 5.0), ("silent 2", 0.5),
                         ("echo 3", 0.2), ("silent 3", 0.6), ("echo 4", 5.0)))
    wire.close()
    print(json.dumps({"timed": steps, "watched": watched(tls=False), "watched_tls": watched(tls=True)}))


main()
