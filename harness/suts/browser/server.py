"""Serve the WIC page (the WWSF, in 3GPP terms) on loopback, or inside the browser itself.

The page's origin is what the browser puts in the WebSocket handshake's `Origin` header
(RFC 6455 §4.1, §10.2), which WIC-HS-02 compares with the profile's `wwsf_origin`. So the
origin is decided here, from the profile:

  http://127.0.0.1:${page_port}   a free port is chosen; the driver reports the real origin
  http://127.0.0.1:8123           served on exactly that port (http or https, loopback only)
  https://wwsf.example.test       no server: Playwright answers the page's requests itself
                                  (`page.route`), so any origin can be had without DNS or
                                  leaving the machine.

Only the files in `web/` listed in `FILES` are served; nothing else answers.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

WEB_DIR = Path(__file__).with_name("web")
BUNDLE = WEB_DIR / "jssip.bundle.js"
PAGE = "wic.html"
FILES = {
    "wic.html": "text/html; charset=utf-8",
    "wic.js": "text/javascript; charset=utf-8",
    "jssip.bundle.js": "text/javascript; charset=utf-8",
}
PORT_PLACEHOLDER = "${page_port}"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class OriginError(ValueError):
    """The profile's wwsf_origin cannot be served."""


@dataclass(frozen=True, kw_only=True)
class OriginPlan:
    scheme: str  # http | https
    host: str
    port: int | None  # None: pick a free one (${page_port}) or the scheme default when routed
    routed: bool  # True: served by the browser's request interception, no socket

    def origin(self, port: int | None = None) -> str:
        """RFC 6454 §6.1 serialisation (the default port is omitted)."""
        port = self.port if port is None else port
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{self.host}" + ("" if port in (None, default) else f":{port}")


def plan_origin(wwsf_origin: str) -> OriginPlan:
    """How to serve the page so that its origin is `wwsf_origin`."""
    text = wwsf_origin.strip().rstrip("/")
    free = PORT_PLACEHOLDER in text
    parts = urlsplit(text.replace(PORT_PLACEHOLDER, "1"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OriginError(f"wwsf_origin must be http(s)://host[:port], not {wwsf_origin!r}")
    if parts.path or parts.query or parts.fragment or parts.username:
        raise OriginError(f"wwsf_origin is an origin, without path or user: {wwsf_origin!r}")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if not re.fullmatch(r"[a-z0-9.\-\[\]:]+", host):
        raise OriginError(f"wwsf_origin host not usable: {host!r}")
    routed = host not in LOOPBACK_HOSTS
    if free and routed:
        raise OriginError("${page_port} only makes sense for a loopback wwsf_origin")
    port = None if free else parts.port
    if not routed and port is None and not free:
        port = 443 if parts.scheme == "https" else 80
    return OriginPlan(scheme=parts.scheme, host=host, port=port, routed=routed)


def read_file(name: str) -> tuple[bytes, str] | None:
    """The body and content type of a page file, or None if it is not one of ours."""
    name = name.lstrip("/") or PAGE
    name = name.split("?", 1)[0]
    if name not in FILES:
        return None
    path = WEB_DIR / name
    if not path.is_file():
        return None
    return path.read_bytes(), FILES[name]


class _Handler(BaseHTTPRequestHandler):
    server_version = "wicct-wwsf"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        found = read_file(urlsplit(self.path).path)
        if found is None:
            self.send_error(404, "not found")
            return
        body, content_type = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        log = getattr(self.server, "wicct_log", None)
        if log is not None:
            log(f"http {self.address_string()} " + format % args)


class PageServer:
    """A threaded HTTP(S) server for the page on a loopback address; stop() is prompt."""

    def __init__(self, host: str, port: int, *, tls: ssl.SSLContext | None = None, log=None):
        bind_host = "::1" if host == "[::1]" else ("127.0.0.1" if host == "localhost" else host)
        server_class = _V6Server if ":" in bind_host else ThreadingHTTPServer
        self.httpd = server_class((bind_host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.wicct_log = log  # type: ignore[attr-defined]
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port: int = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
            name=f"wicct-wwsf-{self.port}",
        )  # fmt: skip
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=2)


class _V6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
