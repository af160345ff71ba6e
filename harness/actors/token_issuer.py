"""wicct's token issuer: the WWSF's authorization server (actor "issuer").

SEED 5.Y.1.3 and RFC 8898 §2.2: an eP-CSCF validates a bearer token either locally with
the issuer's published keys or by asking the issuer (RFC 7662 token introspection). This
actor serves both over HTTPS on loopback, with a certificate from the run's CA, on h11
(a maintained sans-I/O HTTP/1.1 implementation; no HTTP parsing of wicct's own):

- `GET  /.well-known/jwks.json`                 → the JWK Set (RFC 7517 §5);
- `GET  /.well-known/oauth-authorization-server` → metadata (RFC 8414 §2);
- `POST /introspect` (form `token=...`)          → RFC 7662 §2.2 answer.

It mints tokens for the cases (`mint`), registers each with the timeline's redactor (the
token never appears in evidence; its SHA-256 fingerprint stands in) and records every
request it answers as a `token` entry. It counts every request it answers by event and
status (`counts`); with `record=False` (a load run's host, where one token is introspected
thousands of times) it keeps those counts only and puts nothing on the timeline after its
start, so its memory stays bounded however long the load. `mode` makes it misbehave for the "issuer down or
answering garbage" cases: `serve` (default), `garbage` (200 with a body that is not JSON),
`error` (HTTP 500), `stall` (never answers), `down` (the listener is closed).

`http_request` is the matching client (h11 again), for the reference eP-CSCF's
introspection calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11

from harness import evidence as ev
from harness.evidence import Timeline
from harness.pki import Pki
from harness.tokens import Issuers, Minted, TokenSettings, fingerprint

ACTOR = "issuer"
MODES = ("serve", "garbage", "error", "stall", "down")
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"
INTROSPECT_PATH = "/introspect"
_MAX_BODY = 64 * 1024
_READ = 16 * 1024
_IDLE = 10.0  # seconds a kept-alive connection may sit idle


@dataclass(frozen=True)
class IssuerEndpoint:
    """What an eP-CSCF under test is told about the issuer (EpcscfEnv.issuer)."""

    base_url: str
    introspection_url: str
    jwks_url: str
    ca_pem: Path
    issuer: str
    operator_issuers: tuple[str, ...]
    audience: str
    scope: str
    validation: str  # "introspection" | "jwks"


class TokenIssuer:
    """See the module docstring. `start()`, then always `stop()`."""

    actor_name = ACTOR

    def __init__(self, timeline: Timeline, settings: TokenSettings, pki: Pki, host: str = "127.0.0.1",
                 *, record: bool = True) -> None:
        self.timeline = timeline
        self.record = record
        self.counts: Counter[str] = Counter()  # "<event> <status>" of every request answered
        self.settings = settings
        self.pki = pki
        self.host = host
        self.port = 0
        self.issuers = Issuers(settings)
        self.mode = "serve"
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        context = self.pki.server_context()
        self._server = await asyncio.start_server(self._client, self.host, self.port, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]
        self.timeline.put(
            ACTOR, f"token issuer {self.settings.issuer} serving JWKS and introspection at "
            f"{self.base_url}",
            ev.token({"event": "metadata", "issuer": self.settings.issuer, "path": self.base_url}),
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    async def set_mode(self, mode: str) -> None:
        """Make the issuer misbehave (module docstring); `down` closes the listener."""
        if mode not in MODES:
            raise ValueError(f"unknown issuer mode {mode!r} (known: {', '.join(MODES)})")
        self.mode = mode
        if mode == "down" and self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
        self.timeline.add(ACTOR, ev.NOTE, f"token issuer mode: {mode}")

    # -- what cases use -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def endpoint(self) -> IssuerEndpoint:
        s = self.settings
        return IssuerEndpoint(
            base_url=self.base_url,
            introspection_url=self.base_url + INTROSPECT_PATH,
            jwks_url=self.base_url + JWKS_PATH,
            ca_pem=self.pki.ca_pem,
            issuer=s.issuer,
            operator_issuers=s.operator_issuers or (s.issuer,),
            audience=s.audience,
            scope=s.scope,
            validation=s.validation,
        )

    def mint(self, kind: str, *, impi: str, impus: tuple[str, ...] = ()) -> Minted:
        """A token of `kind` (harness.tokens.TOKEN_KINDS), registered as a secret."""
        minted = self.issuers.mint(kind, impi=impi, impus=impus)
        self.timeline.redactor.add(minted.token, fingerprint=True)
        self._note(
            "minted", f"minted a {kind} token sha256:{minted.fingerprint} for "
            f"{minted.claims.impi or '(no IMPI)'} (issuer {minted.claims.issuer})",
            ev.token({"event": "minted", "fingerprint": minted.fingerprint, "kind": kind,
                      "issuer": minted.claims.issuer, "impi": minted.claims.impi}),
        )
        return minted

    # -- serving ------------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        peer = writer.get_extra_info("peername")
        where = f"{peer[0]}:{peer[1]}" if peer else "?"
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_BODY)
        try:
            while True:
                request, body = await _read_request(conn, reader)
                if request is None:
                    return
                self.requests += 1
                status, headers, payload = self._answer(request, body, where)
                if status == 0:  # stall: keep the connection, never answer
                    await asyncio.sleep(3600)
                    return
                out = conn.send(h11.Response(status_code=status, headers=headers))
                out = (out or b"") + (conn.send(h11.Data(data=payload)) or b"")
                out += conn.send(h11.EndOfMessage()) or b""
                writer.write(out)
                await writer.drain()
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (h11.RemoteProtocolError, h11.LocalProtocolError, OSError, TimeoutError,
                ssl.SSLError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _answer(self, request: h11.Request, body: bytes, peer: str) -> tuple[int, list[tuple[str, str]], bytes]:
        method = request.method.decode("ascii", "replace")
        path = urlsplit(request.target.decode("ascii", "replace")).path
        if self.mode == "stall":
            self._record(method, path, 0, peer, reason="stalled (mode)")
            return 0, [], b""
        if self.mode == "error":
            self._record(method, path, 500, peer, reason="HTTP 500 (mode)")
            return 500, [("Content-Length", "0")], b""
        if self.mode == "garbage":
            junk = b"<html>\x00\xff not json"
            self._record(method, path, 200, peer, reason="garbage body (mode)")
            return 200, [("Content-Type", "application/json"), ("Content-Length", str(len(junk)))], junk
        if method == "GET" and path == JWKS_PATH:
            return self._json(200, self.issuers.jwks(), "jwks", method, path, peer)
        if method == "GET" and path == METADATA_PATH:
            meta = {
                "issuer": self.settings.issuer,
                "jwks_uri": self.base_url + JWKS_PATH,
                "introspection_endpoint": self.base_url + INTROSPECT_PATH,
            }
            return self._json(200, meta, "metadata", method, path, peer)
        if method == "POST" and path == INTROSPECT_PATH:
            form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            tokens = form.get("token", [])
            if len(tokens) != 1:
                return self._json(400, {"error": "invalid_request"}, "introspection", method, path, peer)
            token = tokens[0]
            if self.record:
                self.timeline.redactor.add(token, fingerprint=True)
            answer = self.issuers.introspect(token)
            minted = self.issuers.find(token)
            data: ev.TokenData = {
                "event": "introspection", "fingerprint": fingerprint(token),
                "active": bool(answer["active"]), "status": 200, "method": method,
                "path": path, "peer": peer,
            }
            if minted is not None:
                data["kind"] = minted.kind
            self._note(
                f"introspection active={bool(answer['active'])}",
                f"introspection of sha256:{data['fingerprint']}"
                f"{' (' + minted.kind + ')' if minted else ''}: active={answer['active']}",
                ev.token(data),
            )
            return 200, _json_headers(answer), json.dumps(answer).encode()
        self._record(method, path, 404, peer, reason="no such endpoint")
        return 404, [("Content-Length", "0")], b""

    def _json(self, status: int, body: dict[str, Any], event: str, method: str, path: str,
              peer: str) -> tuple[int, list[tuple[str, str]], bytes]:
        self._record(method, path, status, peer, event=event)
        return status, _json_headers(body), json.dumps(body).encode()

    def _record(self, method: str, path: str, status: int, peer: str, *, event: str = "refused",
                reason: str = "") -> None:
        self._note(
            f"{event} {status}",
            f"{method} {path} → {status or 'no answer'}" + (f" ({reason})" if reason else ""),
            ev.token({"event": event, "method": method, "path": path, "status": status,
                      "peer": peer, "reason": reason}),
        )

    def _note(self, count: str, summary: str, payload: ev.Payload) -> None:
        """Count what was answered; a `token` entry on the timeline unless `record` is off."""
        self.counts[count] += 1
        if self.record:
            self.timeline.put(ACTOR, summary, payload)


def _json_headers(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
            ("Content-Length", str(len(json.dumps(body).encode())))]


async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader) -> tuple[h11.Request | None, bytes]:
    request: h11.Request | None = None
    body = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await asyncio.wait_for(reader.read(_READ), _IDLE)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > _MAX_BODY:
                return None, b""
        elif isinstance(event, h11.EndOfMessage):
            return request, body
        elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
            return None, b""


# -- the client (for the reference eP-CSCF) ---------------------------------------------


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes


async def http_request(
    url: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    content_type: str = "application/x-www-form-urlencoded",
    ca_pem: Path | None = None,
    timeout: float = 2.0,
) -> HttpAnswer:
    """One HTTPS request on h11; raises OSError/TimeoutError/h11 errors on failure."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 443
    context = ssl.create_default_context(cafile=str(ca_pem) if ca_pem else None)

    async def exchange() -> HttpAnswer:
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
        try:
            conn = h11.Connection(h11.CLIENT)
            headers = [("Host", f"{host}:{port}"), ("Connection", "close"),
                       ("Content-Length", str(len(body)))]
            if body:
                headers.append(("Content-Type", content_type))
            out = conn.send(h11.Request(method=method, target=parts.path or "/", headers=headers)) or b""
            if body:
                out += conn.send(h11.Data(data=body)) or b""
            out += conn.send(h11.EndOfMessage()) or b""
            writer.write(out)
            await writer.drain()
            status, payload = 0, b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await reader.read(_READ))
                elif isinstance(event, h11.Response):
                    status = event.status_code
                elif isinstance(event, h11.Data):
                    payload += event.data
                elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                    return HttpAnswer(status, payload)
        finally:
            writer.close()

    return await asyncio.wait_for(exchange(), timeout)


__all__ = ["MODES", "HttpAnswer", "IssuerEndpoint", "TokenIssuer", "http_request"]
