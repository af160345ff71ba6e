"""Kamailio as the eP-CSCF under test: render its config, run it as a child, stop it.

The process runs in the foreground (`-DD -E`) as a child of wicct, so it is reaped with the
run and its log (stderr) becomes the case's SUT log. Readiness is a completed TLS handshake
on the WSS port, never a sleep. Loopback only.

Driver options (profile `driver_options`):
  origins_check: true        false renders the misconfigured variant without the Origin
                             allow-list (it must then FAIL exactly EPC-ORIGIN-02)
  token_validation: true     with an issuer (profile claims web-credentials): false renders
                             the misconfigured variant that trusts any well-formed Bearer
                             without introspection (it must then FAIL exactly EPC-REG-05
                             and EPC-REG-06)
  issuer_timeout: 2          seconds Kamailio waits for the issuer's introspection answer
  debug: 2                   Kamailio log level (3 logs every SIP message in full)
  ws_keepalive_mechanism: 1  websocket module: 0 none, 1 Ping, 2 Pong
  ws_keepalive_timeout: 180  seconds
  rtpengine: false           true: media at the edge (profile claims edge-media): rtpengine
                             runs as a child (user space, loopback) and Kamailio's rtpengine
                             module turns WebRTC SDP into RTP/AVP towards the core (no
                             BUNDLE) and back; false with edge-media claimed is the
                             misconfigured variant (it must then FAIL exactly EPC-SES-01)
  rtpengine_binary: rtpengine  path of the rtpengine executable
  binary: kamailio           path of the kamailio executable
  wss_port / sip_port: 0     fixed ports instead of free ones (0: pick)
  load_preset: false         true (set by `wicct load`): room for 5,000+ WSS connections:
                             -m 1024 shared memory (-M 32 private), tcp/tls_max_connections
                             16384, 4 SIP and 4 TCP workers, the open-file limit raised to
                             the hard limit, log level 1 (the per-message lines would flood)
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from harness.actors.token_issuer import IssuerEndpoint
from harness.profiles import Profile
from harness.suts.base import EpcscfDriver, EpcscfEndpoint, EpcscfEnv, SutUnavailable
from harness.suts.kamailio.children import stop_group
from harness.suts.kamailio.config import (
    ConfigError,
    EpcscfConfig,
    TnaConfig,
    render_cfg,
    render_tls_cfg,
)
from harness.suts.kamailio.rtpengine import (
    Rtpengine,
    RtpengineSettings,
    find_rtpengine,
    port_window,
)
from harness.suts.kamailio.version import kamailio_version, rtpengine_version

INSTALL_HINT = "run scripts/install-real-peers.sh"
HOST = "127.0.0.1"
_LOG_LIMIT = 4 * 1024 * 1024  # keep at most this much of Kamailio's log per case
_START_ATTEMPTS = 3  # free ports are chosen before Kamailio binds them: another may get there
_GIVEN: set[int] = set()  # ports handed out in this process (cases run concurrently)
_GIVEN_LOCK = threading.Lock()


def free_port(host: str = HOST, kind: int = socket.SOCK_STREAM) -> int:
    """A port free on `host` for both TCP and UDP right now (the kernel's choice), never
    one this process handed out before (concurrent cases must not be given the same)."""
    for _ in range(40):
        with socket.socket(socket.AF_INET, kind) as first:
            first.bind((host, 0))
            port = first.getsockname()[1]
            other = socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
            with socket.socket(socket.AF_INET, other) as second:
                try:
                    second.bind((host, port))
                except OSError:
                    continue
            with _GIVEN_LOCK:
                if port in _GIVEN:
                    continue
                if len(_GIVEN) > 8192:
                    _GIVEN.clear()
                _GIVEN.add(port)
            return port
    raise OSError("no free port pair on loopback")


LOAD_MEMORY = ("-m", "1024", "-M", "32")  # MiB shared, private per process (load preset)
LOAD_DEBUG = 1  # notices and above: L_INFO logs every message


def raise_open_files() -> None:
    """In Kamailio's child before exec (load preset): the open-file limit up to the hard
    limit, so thousands of TLS connections fit (each is a descriptor)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def tna_config(issuer: IssuerEndpoint | None, options: Mapping[str, object]) -> TnaConfig | None:
    """Bearer validation settings when wicct runs an issuer (profile claims web-credentials).
    Kamailio asks the issuer (RFC 7662 introspection with http_client); it has no JWT module
    on Debian 12, so a profile asking for local JWKS validation cannot be served."""
    if issuer is None:
        return None
    if issuer.validation != "introspection":
        raise ConfigError(f"kamailio validates tokens by introspection only, not {issuer.validation!r}")
    base = urlsplit(issuer.introspection_url)
    return TnaConfig(
        issuer_base=f"{base.scheme}://{base.netloc}",
        introspection_path=base.path or "/",
        ca=issuer.ca_pem.resolve(),
        audience=issuer.audience,
        scope=issuer.scope,
        timeout=int(str(options.get("issuer_timeout", 2))),
        validate=bool(options.get("token_validation", True)),
    )


def find_kamailio(binary: str = "kamailio") -> str | None:
    found = shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/local/sbin:/sbin")
    return found


class KamailioEpcscfDriver(EpcscfDriver):
    name = "kamailio"
    options: ClassVar[Mapping[str, str]] = {
        "origins_check": "false renders the config without the Origin allow-list",
        "token_validation": "false renders the config that trusts any Bearer without introspection",
        "issuer_timeout": "seconds to wait for the issuer's introspection answer (1-30)",
        "debug": "Kamailio's debug level",
        "ws_keepalive_mechanism": "websocket module keepalive_mechanism",
        "ws_keepalive_timeout": "websocket module keepalive_timeout (seconds)",
        "rtpengine": "true runs rtpengine as the eIMS-AGW (media at the edge)",
        "rtpengine_binary": "the rtpengine executable",
        "binary": "the kamailio executable",
        "wss_port": "WSS port (0: a free one)",
        "sip_port": "SIP port towards the core (0: a free one)",
        "load_preset": "true: shared memory, connection and open-file limits for load runs",
    }
    ignores: ClassVar[Mapping[str, str]] = {
        "sut.url": "it starts the eP-CSCF itself and reports the URL",
        "sut.ca": "its certificate is issued from the run's CA",
    }
    concurrent_cases = True  # a Kamailio process with its own config and ports per case

    @classmethod
    def check_options(cls, profile: Profile) -> list[tuple[str, str]]:
        """Token settings this config can serve: introspection only, a whole-second timeout,
        and token options only where an issuer runs (the profile claims web-credentials)."""
        problems: list[tuple[str, str]] = []
        options = profile.driver_options
        bearer = "web-credentials" in profile.features
        if bearer and profile.auth.tokens.validation != "introspection":
            problems.append(("auth.token_validation",
                             "the kamailio driver validates tokens by introspection only"))
        for key in ("token_validation", "issuer_timeout"):
            if key in options and not bearer:
                problems.append((f"driver_options.{key}", "only used when the profile claims web-credentials"))
        timeout = options.get("issuer_timeout", 2)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= 30:
            problems.append(("driver_options.issuer_timeout", "whole seconds from 1 to 30"))
        if not isinstance(options.get("rtpengine", False), bool):
            problems.append(("driver_options.rtpengine", "true or false"))
        if not isinstance(options.get("load_preset", False), bool):
            problems.append(("driver_options.load_preset", "true or false"))
        if not isinstance(options.get("token_validation", True), bool):
            problems.append(("driver_options.token_validation", "true or false"))
        return problems

    @classmethod
    def components(cls, profile: Profile) -> list[dict[str, str]]:
        """What runs, as the binaries state it at run time, for the report's SUT identity:
        Kamailio (`kamailio -v`: the implementation itself, `"main"`) and, when the profile
        runs it, rtpengine (`rtpengine --version`); what cannot be read is left out."""
        options = profile.driver_options
        found: list[dict[str, str]] = []
        binary = find_kamailio(str(options.get("binary", "kamailio")))
        version = kamailio_version(binary) if binary else None
        if version:
            found.append({"product": "Kamailio", "version": version, "main": "kamailio -v"})
        if options.get("rtpengine") is True:
            engine = find_rtpengine(str(options.get("rtpengine_binary", "rtpengine")))
            version = rtpengine_version(engine) if engine else None
            if version:
                found.append({"product": "rtpengine", "version": version})
        return found

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self.cfg_path: Path | None = None
        self.config: EpcscfConfig | None = None
        self.endpoint: EpcscfEndpoint | None = None
        self.startup_seconds: float | None = None  # spawn → first TLS handshake done
        self._log = bytearray()
        self._reader: asyncio.Task[None] | None = None
        self.rtpengine: Rtpengine | None = None

    # -- life cycle --------------------------------------------------------------------------
    async def start(self, env: EpcscfEnv) -> EpcscfEndpoint:
        options = env.profile.driver_options
        binary = find_kamailio(str(options.get("binary", "kamailio")))
        if binary is None:
            raise SutUnavailable(f"kamailio not installed: {INSTALL_HINT}")
        fixed = any(int(options.get(key, 0) or 0) for key in ("wss_port", "sip_port"))
        for attempt in range(1, _START_ATTEMPTS + 1):
            logged = len(self._log)
            try:
                return await self._start(env, binary)
            except SutUnavailable as exc:
                # a free port taken between our choice and Kamailio's bind: choose again
                taken = b"Address already in use" in self._log[logged:]
                if fixed or attempt == _START_ATTEMPTS or not taken:
                    raise
                env.log(f"kamailio: a chosen port was taken before it bound, retrying ({exc})")
        raise AssertionError("unreachable")  # pragma: no cover

    async def _start(self, env: EpcscfEnv, binary: str) -> EpcscfEndpoint:
        options = env.profile.driver_options
        workdir = env.workdir / "kamailio"
        rundir = workdir / "run"
        rundir.mkdir(parents=True, exist_ok=True)

        rtpengine_port = await self._start_rtpengine(env) if options.get("rtpengine") else 0
        leaf = env.pki.leaf("127.0.0.1", "localhost")
        tls_cfg = workdir / "tls.cfg"
        tls_cfg.write_text(render_tls_cfg(leaf.cert_chain, leaf.key), encoding="utf-8")
        preset = bool(options.get("load_preset", False))
        try:
            self.config = EpcscfConfig(
                host=HOST,
                wss_port=int(options.get("wss_port", 0)) or free_port(),
                sip_port=int(options.get("sip_port", 0)) or free_port(),
                core_host=env.core_host,
                core_port=env.core_port,
                core_transport=env.core_transport,
                tls_cfg=tls_cfg,
                trusted_origins=tuple(env.profile.trusted_origins),
                origins_check=bool(options.get("origins_check", True)),
                debug=LOAD_DEBUG if preset else int(options.get("debug", 2)),
                ws_keepalive_mechanism=int(options.get("ws_keepalive_mechanism", 1)),
                ws_keepalive_timeout=int(options.get("ws_keepalive_timeout", 180)),
                domain=env.profile.domain,
                tna=tna_config(env.issuer, options),
                integrity_protected=dict(env.profile.auth.integrity_protected),
                rtpengine_port=rtpengine_port,
                defines=("WITH_LOAD_PRESET",) if preset else (),
            )
        except (ConfigError, ValueError, TypeError) as exc:
            raise SutUnavailable(f"kamailio config: {exc}") from exc
        self.cfg_path = workdir / "kamailio.cfg"
        self.cfg_path.write_text(render_cfg(self.config), encoding="utf-8")

        await self._check_config(binary, env)
        timeout = env.profile.timers.start_timeout
        started = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            binary,
            "-f", str(self.cfg_path),
            "-DD", "-E",
            "-Y", str(rundir),
            "-P", str(rundir / "kamailio.pid"),
            *(LOAD_MEMORY if preset else ("-m", "64", "-M", "8")),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=raise_open_files if preset else None,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read_log(self.process))
        try:
            await self._wait_ready(env, started + timeout)
        except SutUnavailable:
            await self.stop()
            raise
        self.startup_seconds = time.monotonic() - started
        env.log(
            f"kamailio: wss://{HOST}:{self.config.wss_port}/ core side "
            f"{self.config.core_transport}:{HOST}:{self.config.sip_port} "
            f"(pid {self.process.pid}, ready in {self.startup_seconds:.3f} s)"
        )
        self.endpoint = EpcscfEndpoint(
            ws_url=f"wss://{HOST}:{self.config.wss_port}/",
            ca_pem=env.pki.ca_pem,
            domain=env.profile.domain,
            host=HOST,
            port=self.config.wss_port,
        )
        return self.endpoint

    async def stop(self) -> None:
        process, self.process = self.process, None
        await stop_group(process)  # Kamailio forks its workers into the child's session
        if self._reader is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 1.0)
            self._reader = None
        rtpengine, self.rtpengine = self.rtpengine, None
        if rtpengine is not None:
            await rtpengine.stop()
            self._log += b"--- rtpengine ---\n" + bytes(rtpengine.log)

    def log_text(self) -> str:
        return self._log.decode("utf-8", "replace")

    async def _start_rtpengine(self, env: EpcscfEnv) -> int:
        """rtpengine as a child in user space on loopback; its ng port once it answers a ping."""
        binary = find_rtpengine(str(env.profile.driver_options.get("rtpengine_binary", "rtpengine")))
        if binary is None:
            raise SutUnavailable(f"rtpengine not installed: {INSTALL_HINT}")
        if self.rtpengine is not None:  # a start retried after a port clash
            await self.rtpengine.stop()
        ng = free_port(kind=socket.SOCK_DGRAM)
        low, high = port_window(ng)
        self.rtpengine = Rtpengine(RtpengineSettings(binary, ng, low, high))
        try:
            await self.rtpengine.start(time.monotonic() + env.profile.timers.start_timeout)
        except RuntimeError as exc:
            raise SutUnavailable(str(exc)) from exc
        env.log(f"rtpengine: ng {HOST}:{ng}, media ports {low}-{high} "
                f"(pid {self.rtpengine.process.pid if self.rtpengine.process else '?'}, "
                f"ready in {self.rtpengine.ready_seconds or 0:.3f} s)")
        return ng

    # -- helpers -----------------------------------------------------------------------------
    async def _check_config(self, binary: str, env: EpcscfEnv) -> None:
        assert self.cfg_path is not None
        check = await asyncio.create_subprocess_exec(
            binary, "-c", "-f", str(self.cfg_path),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(check.communicate(), env.profile.timers.start_timeout)
        except TimeoutError as exc:
            with contextlib.suppress(ProcessLookupError):
                check.kill()
            raise SutUnavailable("kamailio -c did not finish") from exc
        text = out.decode("utf-8", "replace")
        self._log += b"--- kamailio -c ---\n" + out + b"--- kamailio ---\n"
        if check.returncode != 0:
            errors = [line for line in text.splitlines() if "ERROR" in line or "CRITICAL" in line]
            raise SutUnavailable(
                f"kamailio rejected its config {self.cfg_path}: " + " | ".join(errors[-3:])
            )

    async def _read_log(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            if len(self._log) < _LOG_LIMIT:
                self._log += chunk

    async def _wait_ready(self, env: EpcscfEnv, deadline: float) -> None:
        assert self.config is not None and self.process is not None
        context = ssl.create_default_context(cafile=str(env.pki.ca_pem))
        last_error = "no attempt"
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise SutUnavailable(
                    f"kamailio exited with {self.process.returncode} during start-up: "
                    + self._log_tail()
                )
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        HOST, self.config.wss_port, ssl=context, server_hostname="127.0.0.1"
                    ),
                    max(0.05, min(1.0, deadline - time.monotonic())),
                )
            except (OSError, TimeoutError, ssl.SSLError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.02)
                continue
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 0.5)
            return
        raise SutUnavailable(
            f"kamailio did not accept TLS on {HOST}:{self.config.wss_port} within "
            f"{env.profile.timers.start_timeout:g} s ({last_error})"
        )

    def _log_tail(self, lines: int = 5) -> str:
        tail = self.log_text().strip().splitlines()[-lines:]
        return " | ".join(tail) or "(no output)"
