"""Serve the WIC page (the WWSF, in 3GPP terms) on loopback, or inside the browser itself.

The page's origin is what the browser puts in the WebSocket handshake's `Origin` header
(RFC 6455 §4.1, §10.2), which WIC-HS-02 compares with the profile's `wwsf_origin`. So the
origin is decided here, from the profile:

  http://127.0.0.1:${page_port}   a free port is chosen; the driver reports the real origin
  http://127.0.0.1:8123           served on exactly that port (http or https, loopback only)
  https://wwsf.example.test       no server: Playwright answers the page's requests itself
                                  (`page.route`), so any origin can be had without DNS or
                                  leaving the machine.

What is served is a `Site`: a fixed table of URL paths to files, made once at start. The
built-in one is wicct's JsSIP page (`web/`, the files in `FILES`); a vendor's profile names
its own page and files instead (`Site.from_options`: `driver_options.page` and `assets`).
Nothing outside the table answers (404).
"""

from __future__ import annotations

import mimetypes
import re
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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


class SiteError(ValueError):
    """The profile's page or assets cannot be served (a missing file, a bad URL path);
    `key` is the driver option at fault (`page` or `assets`)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def content_type(path: Path) -> str:
    """The Content-Type a browser needs for a page file (scripts must be JavaScript)."""
    if path.suffix in (".js", ".mjs"):
        return "text/javascript; charset=utf-8"
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{guessed}; charset=utf-8" if guessed.startswith("text/") else guessed


@dataclass(frozen=True, kw_only=True)
class Site:
    """The page and the files served with it: URL path (no leading slash) → file."""

    page: str  # URL path of the page, e.g. "wic.html"
    files: Mapping[str, Path] = field(default_factory=dict)

    @classmethod
    def builtin(cls) -> Site:
        """wicct's own JsSIP page in `web/`."""
        return cls(page=PAGE, files={name: WEB_DIR / name for name in FILES})

    @classmethod
    def from_options(cls, options: Mapping[str, object], base: Path) -> Site:
        """The site a profile's `driver_options` describe; the built-in one without `page`.

        `page`: the HTML file (relative paths are relative to `base`, the profile's folder),
        served under its own name. `assets`: more files, a list of files or folders (a file
        is served under its name, a folder's files under their paths inside it), or a
        mapping of URL path → file or folder; default: the page's own folder.
        """
        if not options.get("page"):
            return cls.builtin()
        page = _resolve(str(options["page"]), base, "page")
        if not page.is_file():
            raise SiteError("page", f"not a file: {page}")
        files: dict[str, Path] = {}
        assets = options.get("assets")
        if assets is None:
            _add_folder(files, "", page.parent)
        elif isinstance(assets, Mapping):
            for url, target in assets.items():
                _add(files, _url_path(str(url)), _resolve(str(target), base, "assets"))
        elif isinstance(assets, list):
            for target in assets:
                path = _resolve(str(target), base, "assets")
                _add(files, "" if path.is_dir() else path.name, path)
        else:
            raise SiteError("assets", "must be a list of files or folders, or a mapping")
        files[page.name] = page
        return cls(page=page.name, files=files)

    def missing(self) -> list[str]:
        """Files of the site that are not there (e.g. a bundle not built yet)."""
        return [str(path) for path in self.files.values() if not path.is_file()]

    def read(self, url_path: str) -> tuple[bytes, str] | None:
        """The body and content type for a request path, or None if it is not served."""
        name = url_path.split("?", 1)[0].lstrip("/") or self.page
        path = self.files.get(name)
        if path is None or not path.is_file():
            return None
        return path.read_bytes(), content_type(path)


def _resolve(name: str, base: Path, key: str) -> Path:
    path = Path(name).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.exists():
        raise SiteError(key, f"no such file or folder: {path}")
    return path.resolve()


def _url_path(url: str) -> str:
    cleaned = url.strip().strip("/")
    if not cleaned or any(part in ("", ".", "..") for part in cleaned.split("/")):
        raise SiteError("assets", f"not a usable URL path for an asset: {url!r}")
    return cleaned


def _add(files: dict[str, Path], url: str, path: Path) -> None:
    if path.is_dir():
        _add_folder(files, url, path)
    else:
        files[url or path.name] = path


def _add_folder(files: dict[str, Path], prefix: str, folder: Path) -> None:
    """Every file below `folder` (hidden ones left out) under `prefix/its/relative/path`."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_file() and not any(p.startswith(".") for p in relative.parts):
            files["/".join(filter(None, (prefix, relative.as_posix())))] = path


def read_file(name: str, site: Site | None = None) -> tuple[bytes, str] | None:
    """The body and content type of a page file, or None if it is not one of the site's."""
    return (site or Site.builtin()).read(name)


class _Handler(BaseHTTPRequestHandler):
    server_version = "wicct-wwsf"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        site = getattr(self.server, "wicct_site", None)
        found = read_file(urlsplit(self.path).path, site)
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

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        log: Callable[[str], None] | None = None,
        site: Site | None = None,
    ) -> None:
        bind_host = "::1" if host == "[::1]" else ("127.0.0.1" if host == "localhost" else host)
        server_class = _V6Server if ":" in bind_host else ThreadingHTTPServer
        self.httpd = server_class((bind_host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.wicct_log = log  # type: ignore[attr-defined]
        self.httpd.wicct_site = site or Site.builtin()  # type: ignore[attr-defined]
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
