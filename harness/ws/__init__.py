"""WebSocket connections with full evidence on websockets' sans-I/O protocols."""

from harness.ws.conn import ConnectResult, Pong, WsConnection, WsMessage, connect
from harness.ws.server import HandshakePolicy, WsServer, origin_policy, reject

__all__ = [
    "ConnectResult",
    "HandshakePolicy",
    "Pong",
    "WsConnection",
    "WsMessage",
    "WsServer",
    "connect",
    "origin_policy",
    "reject",
]
