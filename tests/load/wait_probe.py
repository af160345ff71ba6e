"""Run by test_load_units in a process of its own (gevent patches `socket` here): a `Wire`
against a WebSocket server in the same process that echoes text messages except those
starting with "silent"; prints what each wait returned and how long it took, as JSON."""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402
from websockets.frames import Frame, Opcode  # noqa: E402
from websockets.http11 import Request  # noqa: E402
from websockets.server import ServerProtocol  # noqa: E402
from websockets.typing import Subprotocol  # noqa: E402

from harness.load.wire import Wire  # noqa: E402


def serve(listener: socket.socket) -> None:
    conn, _ = listener.accept()
    protocol = ServerProtocol(subprotocols=[Subprotocol("sip")])
    while True:
        data = conn.recv(65536)
        if not data:
            return
        protocol.receive_data(data)
        for event in protocol.events_received():
            if isinstance(event, Request):
                protocol.send_response(protocol.accept(event))
            elif (isinstance(event, Frame) and event.opcode is Opcode.TEXT
                  and not bytes(event.data).startswith(b"silent")):
                protocol.send_text(bytes(event.data))
        for out in protocol.data_to_send():
            conn.sendall(out)


def main() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    gevent.spawn(serve, listener)
    port = listener.getsockname()[1]
    wire = Wire(f"ws://127.0.0.1:{port}/", None, "127.0.0.1", "https://wwsf.invalid", 5.0)
    wire.open()
    steps = []
    # a short wait after a long one, a long wait after a short one that data ended, and the
    # connection used after each wait that ran out
    for text, wait in (("echo 1", 5.0), ("silent 1", 0.3), ("echo 2", 5.0), ("silent 2", 0.5),
                       ("echo 3", 0.2), ("silent 3", 0.6), ("echo 4", 5.0)):
        wire.send(text.encode())
        started = time.monotonic()
        got = wire.receive(started + wait)
        steps.append({"sent": text, "wait": wait, "got": [m.payload.decode() for m in got],
                      "seconds": time.monotonic() - started})
    wire.close()
    print(json.dumps(steps))


main()
