"""JsSIP in headless Chromium as the WIC under test, driven with Playwright.

Life cycle: a private HOME whose NSS database trusts the run's CA (so certificate checking
stays on: RFC 7118 §9.1, WIC-HS-03), the page served under the profile's WWSF origin (see
`server.py`), Debian's Chromium launched by Playwright (never a downloaded browser), and
the verbs of `window.wic` (web/wic.js) called with `page.evaluate`. Every verb has a
timeout and turns any failure into a DriverError with a short reason.

After `start()`, `driver.origin` is the page's effective origin: the value the WIC will send
in `Origin`, which WIC-HS-02 must compare with (the profile may say
`http://127.0.0.1:${page_port}` and only the driver knows the port).

The page is wicct's own (web/wic.html: JsSIP) unless the profile names a vendor's page: any
page that implements the page contract (`window.wic`, docs/drivers.md "The page contract",
`CONTRACT`) is driven the same way, with no code of the vendor's own.

Driver options (profile `driver_options`; `OPTIONS` below):
  executable: /usr/lib/chromium/chromium
  verb_timeout: 5             seconds for one verb (answer waits this long for a call)
  jssip_debug: "JsSIP:*"      passed to configure() as `debug` ("" for none)
  register_expires: 600       passed to configure()
  unregister_on_stop: false   true: stop() calls window.wic.stop() first (JsSIP un-REGISTERs)
  extra_args: []              more Chromium flags
  headless: true
  page: web/softphone.html    a vendor's page instead of wicct's (relative to the profile)
  assets: [...]               the files served with it (default: the page's folder)
  ready: "window.SIP"         a JS expression that must be true before configure()
  contract: 1                 the page contract version the page implements
  page_options: {}            more settings for the page, merged into configure()'s object
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from harness.profiles import Profile
from harness.suts.base import DriverError, SutUnavailable, WicDriver, WicEnv, WicState
from harness.suts.browser.server import (
    BUNDLE,
    OriginError,
    OriginPlan,
    PageServer,
    Site,
    SiteError,
    plan_origin,
)

INSTALL_HINT = "run scripts/install-real-peers.sh"
CHROMIUM = "/usr/lib/chromium/chromium"
# What works headless as root on a closed network (docs/drivers.md, "browser"). Playwright adds
# --headless and --no-sandbox itself and owns --user-data-dir (a fresh one per launch).
CHROMIUM_FLAGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
)
_LOG_LIMIT = 20000  # console lines kept

CONTRACT = 1  # the version of the page contract (window.wic) this driver speaks
# What the driver calls on window.wic: the page must define all of REQUIRED_VERBS; the
# optional ones are only called when a case or an option needs them.
REQUIRED_VERBS = ("configure", "register", "call", "answer", "hangup", "state")
OPTIONAL_VERBS = ("unregister", "stop")
BUILTIN_READY = "window.JsSIP"  # wicct's own page also needs its JsSIP bundle loaded

OPTIONS: dict[str, str] = {
    "executable": "Chromium binary (Debian's /usr/lib/chromium/chromium)",
    "verb_timeout": "seconds one verb may take (answer waits this long for a call)",
    "jssip_debug": "passed to configure() as `debug` (JsSIP debug namespaces; \"\" for none)",
    "register_expires": "passed to configure() (seconds)",
    "unregister_on_stop": "true: stop() calls window.wic.stop() first",
    "extra_args": "more Chromium flags",
    "headless": "false shows the browser window",
    "page": "a vendor's HTML page implementing the page contract (relative to the profile)",
    "assets": "files or folders served with the page (default: the page's folder)",
    "ready": "a JS expression that must be true before configure() is called",
    "contract": f"the page contract version the page implements ({CONTRACT})",
    "page_options": "a mapping merged into the object configure() gets",
}


def missing_prerequisites(executable: str = CHROMIUM, site: Site | None = None) -> list[str]:
    """What is missing to run this driver (empty when everything is there)."""
    missing = []
    if not Path(executable).is_file():
        missing.append(f"chromium ({executable})")
    if site is None or site == Site.builtin():
        if not BUNDLE.is_file():
            missing.append(f"JsSIP bundle ({BUNDLE.name})")
    else:
        missing += [f"page file {name}" for name in site.missing()]
    if shutil.which("certutil") is None:
        missing.append("certutil (libnss3-tools)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing.append("playwright (pip)")
    return missing


async def make_nss_home(home: Path, ca_pem: Path, timeout: float = 10.0) -> None:
    """An NSS db in `home/.pki/nssdb` that trusts `ca_pem` for TLS servers (certutil)."""
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True, exist_ok=True)
    commands = []
    if not (db / "cert9.db").exists():
        commands.append(["certutil", "-d", f"sql:{db}", "-N", "--empty-password"])
    commands.append(
        ["certutil", "-d", f"sql:{db}", "-A", "-t", "C,,", "-n", "wicct-run-ca", "-i", str(ca_pem)]
    )
    for command in commands:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "HOME": str(home)},
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError as exc:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise SutUnavailable(f"certutil timed out: {' '.join(command[:4])}") from exc
        if process.returncode != 0:
            raise SutUnavailable(
                f"certutil failed ({process.returncode}): {out.decode(errors='replace').strip()}"
            )


def page_site(profile: Profile) -> Site:
    """The page and files the profile's driver_options describe (wicct's page by default)."""
    return Site.from_options(profile.driver_options, profile.path.parent)


class BrowserWicDriver(WicDriver):
    name = "browser"
    options: ClassVar[Mapping[str, str]] = OPTIONS

    @classmethod
    def check_options(cls, profile: Profile) -> list[tuple[str, str]]:
        """The page and assets exist, the contract version is one this driver speaks."""
        problems: list[tuple[str, str]] = []
        options = profile.driver_options
        if "contract" in options and options["contract"] != CONTRACT:
            problems.append(
                ("driver_options.contract",
                 f"this driver speaks page contract {CONTRACT}, not {options['contract']!r}")
            )  # fmt: skip
        if "page" not in options:
            for key in ("assets", "ready"):
                if key in options:
                    problems.append((f"driver_options.{key}", "only used with driver_options.page"))
        try:
            page_site(profile)
        except SiteError as exc:
            problems.append((f"driver_options.{exc.key}", str(exc)))
        return problems

    @classmethod
    def components(cls, profile: Profile) -> list[dict[str, str]]:
        """What runs with the page, for the report's SUT identity: the Chromium this driver
        launches, with the version the binary states at run time (`--version`); [] when it
        cannot be read (not installed: the cases say so)."""
        executable = str(profile.driver_options.get("executable", CHROMIUM))
        try:
            out = subprocess.run([executable, "--version"], capture_output=True, text=True,
                                 timeout=10, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            return []
        found = re.search(r"Chromium\s+(\d+(?:\.\d+)+)", out)
        return [{"product": "Chromium", "version": found.group(1)}] if found else []

    concurrent_cases = True  # a Chromium (and page server) of its own per case

    def __init__(self) -> None:
        self.origin: str = ""  # the page's effective origin, set by start()
        self.page_url: str = ""
        self.timings: dict[str, float] = {}  # seconds: nss, playwright, launch, context, page
        self.websocket_urls: list[str] = []
        self._env: WicEnv | None = None
        self._options: dict[str, Any] = {}
        self._server: PageServer | None = None
        self._site: Site = Site.builtin()
        self._pw: Any = None
        self._browser: Any = None
        self._context: Any = None
        self._page: Any = None
        self._console: list[str] = []

    # -- life cycle --------------------------------------------------------------------------
    async def start(self, env: WicEnv) -> None:
        self._env = env
        self._options = dict(env.profile.driver_options)
        executable = str(self._options.get("executable", CHROMIUM))
        try:
            self._site = page_site(env.profile)
        except SiteError as exc:
            raise SutUnavailable(f"browser WIC page: {exc}") from exc
        missing = missing_prerequisites(executable, self._site)
        if missing:
            raise SutUnavailable(
                f"browser WIC unavailable, missing {', '.join(missing)}: {INSTALL_HINT}"
            )
        try:
            plan = plan_origin(env.profile.wwsf_origin)
        except OriginError as exc:
            raise SutUnavailable(str(exc)) from exc
        deadline = env.profile.timers.start_timeout
        try:
            await asyncio.wait_for(self._start(env, plan, executable), deadline)
        except TimeoutError as exc:
            await self.stop()
            raise SutUnavailable(f"browser WIC did not come up within {deadline:g} s") from exc
        except SutUnavailable:
            await self.stop()
            raise
        except Exception as exc:
            await self.stop()
            raise SutUnavailable(f"browser WIC failed to start: {_short(exc)}") from exc

    async def _start(self, env: WicEnv, plan: OriginPlan, executable: str) -> None:
        from playwright.async_api import async_playwright

        t0 = time.monotonic()
        home = env.workdir / "browser-home"
        await make_nss_home(home, env.ca_pem)
        self.timings["nss"] = time.monotonic() - t0

        if plan.routed:
            self.origin = plan.origin()
        else:
            tls = (
                env.pki.server_context("127.0.0.1", "localhost") if plan.scheme == "https" else None
            )
            self._server = PageServer(
                plan.host, plan.port or 0, tls=tls, log=self._note, site=self._site
            )
            self.origin = plan.origin(self._server.port)
        self.page_url = f"{self.origin}/{self._site.page}"

        t1 = time.monotonic()
        self._pw = await async_playwright().start()
        self.timings["playwright"] = time.monotonic() - t1
        t1 = time.monotonic()
        self._browser = await self._pw.chromium.launch(
            executable_path=executable,
            headless=bool(self._options.get("headless", True)),
            args=[*CHROMIUM_FLAGS, *map(str, self._options.get("extra_args", []))],
            env={**os.environ, "HOME": str(home)},
            timeout=env.profile.timers.start_timeout * 1000,
        )
        self.timings["launch"] = time.monotonic() - t1
        t1 = time.monotonic()
        self._context = await self._browser.new_context(ignore_https_errors=False)
        page = self._page = await self._context.new_page()
        self.timings["context"] = time.monotonic() - t1
        page.on("console", lambda msg: self._note(f"console.{msg.type}: {_plain(msg.text)}"))
        page.on("pageerror", lambda err: self._note(f"pageerror: {err}"))
        page.on("crash", lambda _page: self._note("page crashed"))
        page.on("websocket", self._on_websocket)
        if plan.routed:
            await page.route(f"{self.origin}/**", self._serve_routed)
            # Chromium's Local Network Access checks treat the routed page as public and
            # block its WebSocket to loopback (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS);
            # a real WWSF needs the same user permission to reach an eP-CSCF on a local net.
            await self._context.grant_permissions(["local-network-access"], origin=self.origin)
            self._note(f"granted local-network-access to {self.origin}")

        t2 = time.monotonic()
        response = await page.goto(self.page_url, wait_until="load")
        if response is None or not response.ok:
            status = response.status if response is not None else "no response"
            raise SutUnavailable(f"WIC page {self.page_url} did not load ({status})")
        await self._check_contract(page)
        actual = await page.evaluate("() => window.location.origin")
        if actual != self.origin:
            raise SutUnavailable(f"page origin is {actual}, expected {self.origin}")
        await page.evaluate("(o) => window.wic.configure(o)", self._configuration(env))
        self.timings["page"] = time.monotonic() - t2
        env.log(
            f"browser WIC: {self.page_url} (origin {self.origin}) → {env.epcscf_url}; "
            + ", ".join(f"{k} {v:.3f} s" for k, v in self.timings.items())
        )

    async def _check_contract(self, page: Any) -> None:
        """Wait for the page's `window.wic` (and the `ready` expression), then check that it
        has every required verb and, if it says which, speaks this driver's contract."""
        from playwright.async_api import Error as PlaywrightError

        builtin = self._site == Site.builtin()
        ready = str(self._options.get("ready", BUILTIN_READY if builtin else "") or "")
        condition = "window.wic" + (f" && ({ready})" if ready else "")
        try:
            await page.wait_for_function(f"() => {condition}", timeout=5000)
        except PlaywrightError as exc:
            raise SutUnavailable(
                f"page {self._site.page}: `{condition}` did not become true within 5 s "
                f"(the page contract needs window.wic): {_short(exc)}"
            ) from exc
        found = await page.evaluate(
            "(verbs) => ({missing: verbs.filter((v) => typeof window.wic[v] !== 'function'),"
            " contract: window.wic.contract === undefined ? null : window.wic.contract})",
            list(REQUIRED_VERBS),
        )
        if found["missing"]:
            raise SutUnavailable(
                f"page {self._site.page} breaks the page contract: window.wic has no "
                + ", ".join(found["missing"])
            )
        if found["contract"] is not None and found["contract"] != CONTRACT:
            raise SutUnavailable(
                f"page {self._site.page} implements page contract {found['contract']!r}; "
                f"this driver speaks {CONTRACT}"
            )

    def _configuration(self, env: WicEnv) -> dict[str, Any]:
        """The object window.wic.configure() gets (docs/drivers.md, the page contract)."""
        profile = env.profile
        extra = self._options.get("page_options") or {}
        if not isinstance(extra, dict):
            raise SutUnavailable("driver_options.page_options must be a mapping")
        return {
            **extra,
            "ws_url": env.epcscf_url,
            "impu": profile.impu,
            "impi": profile.impi,
            # web credentials (WIC-REG-02): JsSIP puts authorization_jwt verbatim into
            # Authorization on every request of its request sender (not CANCEL, not the ACK
            # for a non-2xx), so the scheme is part of the value; it cannot fall back from
            # Bearer to Digest, so no password goes with a token
            "password": "" if env.token else profile.password,
            "authorization_jwt": f"Bearer {env.token}" if env.token else "",
            "display_name": profile.display_name,
            "domain": profile.domain,
            "register_expires": int(self._options.get("register_expires", 600)),
            "debug": self._options.get("jssip_debug", "JsSIP:*") or False,
            "origin": self.origin,
        }

    async def stop(self) -> None:
        page, context, browser, pw = self._page, self._context, self._browser, self._pw
        self._page = self._context = self._browser = self._pw = None
        if page is not None and self._options.get("unregister_on_stop", False):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(page.evaluate("() => window.wic.stop()"), 2.0)
                await asyncio.sleep(0.3)
        for closer in (
            context.close if context is not None else None,
            browser.close if browser is not None else None,
            pw.stop if pw is not None else None,
        ):
            if closer is None:
                continue
            with contextlib.suppress(Exception):
                await asyncio.wait_for(closer(), 5.0)
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(server.stop), 3.0)

    def log_text(self) -> str:
        return "\n".join(self._console)

    # -- verbs -------------------------------------------------------------------------------
    async def register(self) -> None:
        await self._invoke("register")

    async def unregister(self) -> None:
        await self._invoke("unregister")

    async def call(self, target: str) -> None:
        await self._invoke("call", target)

    async def answer(self) -> None:
        """Wait (up to verb_timeout) for the incoming call JsSIP rings for, then accept it."""
        await self.wait_for(lambda s: s.incoming, what="an incoming call to answer")
        await self._invoke("answer")

    async def hangup(self) -> None:
        await self._invoke("hangup")

    async def state(self) -> WicState:
        raw = await self._invoke("state")
        if not isinstance(raw, dict):
            raise DriverError(f"state: page answered {raw!r}")
        known = ("connected", "registered", "in_call", "incoming", "detail")
        return WicState(
            connected=bool(raw.get("connected")),
            registered=bool(raw.get("registered")),
            in_call=bool(raw.get("in_call")),
            incoming=bool(raw.get("incoming")),
            detail=str(raw.get("detail", "")),
            extra={k: v for k, v in raw.items() if k not in known},
        )

    async def wait_for(
        self, predicate: Callable[[WicState], bool], *, what: str, timeout: float | None = None
    ) -> WicState:
        """Poll state() until predicate(state) holds; DriverError naming `what` otherwise."""
        limit = self._verb_timeout() if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            current = await self.state()
            if predicate(current):
                return current
            if time.monotonic() >= deadline:
                raise DriverError(
                    f"timed out after {limit:g} s waiting for {what} (WIC says: {current.detail})"
                )
            await asyncio.sleep(0.05)

    # -- helpers -----------------------------------------------------------------------------
    def _verb_timeout(self) -> float:
        default = 5.0
        if self._env is not None:
            default = max(default, self._env.profile.timers.response_timeout)
        return float(self._options.get("verb_timeout", default))

    async def _invoke(self, verb: str, *args: Any) -> Any:
        if self._page is None:
            raise DriverError(f"{verb}: browser WIC not started")
        from playwright.async_api import Error as PlaywrightError

        timeout = self._verb_timeout()
        if verb != "state":
            self._note(f"driver: {verb}{args if args else ''}")
        try:
            return await asyncio.wait_for(
                self._page.evaluate(f"(args) => window.wic.{verb}(...args)", list(args)), timeout
            )
        except TimeoutError as exc:
            raise DriverError(f"{verb}: the page did not answer within {timeout:g} s") from exc
        except PlaywrightError as exc:
            raise DriverError(f"{verb}: {_short(exc)}") from exc

    async def _serve_routed(self, route: Any) -> None:
        from urllib.parse import urlsplit

        found = self._site.read(urlsplit(route.request.url).path)
        if found is None:
            await route.fulfill(status=404, body="not found")
            return
        body, content_type = found
        self._note(f"routed GET {route.request.url}")
        await route.fulfill(
            status=200,
            body=body,
            headers={"Content-Type": content_type, "Cache-Control": "no-store"},
        )

    def _on_websocket(self, ws: Any) -> None:
        self.websocket_urls.append(ws.url)
        self._note(f"websocket open {ws.url}")
        ws.on("close", lambda _ws: self._note(f"websocket closed {ws.url}"))
        ws.on("socketerror", lambda error: self._note(f"websocket error {ws.url}: {error}"))

    def _note(self, line: str) -> None:
        if len(self._console) < _LOG_LIMIT:
            now = time.time()
            stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
            self._console.append(f"{stamp} {line}")


_CSS_ARGS = re.compile(r"(\s+color: (?:#[0-9A-Fa-f]{6}|inherit))+\s*$")


def _plain(text: str) -> str:
    """JsSIP's debug lines come with %c colour markers and their CSS arguments: drop both."""
    return _CSS_ARGS.sub("", text.replace("%c", ""))


def _short(exc: BaseException) -> str:
    """Playwright errors carry a call log after the first line: keep the reason only."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first.removeprefix("Error: ").removeprefix("Page.evaluate: ").removeprefix("Error: ")
