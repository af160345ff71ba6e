"""The WIC role: the SUT is a WebRTC IMS Client; wicct plays the eP-CSCF and the IMS core.

`@environment("wic")` starts wicct's eP-CSCF emulator (`ctx.actors["peer"]`, also
`ctx.actors["epcscf"]`), then the WIC through its driver (`ctx.actors["driver"]`, chosen by
`profile.driver` in `harness.suts.registry`), told to use the emulator's wss:// URL and to
trust the run's CA. The steps below are the role's vocabulary; the role-neutral ones
(peer.send, expect.response, peer.ping...) are in `harness.steps.peer`.

Judging rule of this package's expectations: a step whose timeout is a FAIL (the SUT was
obliged to act: `on_timeout: fail`) records a PASS when it holds; a step whose timeout is
INCONCLUSIVE (a precondition, the default for connection/registration/request waits)
records nothing when it holds, so preconditions never stand in for the verdict.
A driver verb that fails is INCONCLUSIVE unless the case says `on_error: fail`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from harness.actors.epcscf_emulator import EpcscfEmulator
from harness.actors.token_issuer import TokenIssuer
from harness.cases.context import CaseContext
from harness.cases.registry import environment
from harness.cases.teardown import Teardown
from harness.evidence import NOTE
from harness.suts.base import SutUnavailable, WicDriver, WicEnv, start_within
from harness.suts.registry import make_driver

WIC = ("wic",)  # the roles of this package's steps


# -- the environment -----------------------------------------------------------------------


def wic_driver(ctx: CaseContext) -> WicDriver:
    """The WIC's driver for this profile (a seam the harness's own tests replace)."""
    driver = make_driver(ctx.profile)
    if not isinstance(driver, WicDriver):
        raise SutUnavailable(f"driver {ctx.profile.driver!r} is not a WIC driver")
    return driver


@environment("wic")
@contextlib.asynccontextmanager
async def wic_environment(ctx: CaseContext) -> AsyncIterator[None]:
    profile = ctx.profile
    emulator = EpcscfEmulator(
        timeline=ctx.timeline,
        profile=profile,
        pki=ctx.pki,
        workdir=ctx.workdir,
        # a WIC with web credentials registers with its Bearer token, not Digest
        challenge="digest" in profile.features and "web-credentials" not in profile.features,
    )
    await emulator.start()
    ctx.actors["peer"] = ctx.actors["epcscf"] = emulator
    driver: WicDriver | None = None
    issuer: TokenIssuer | None = None
    try:
        token = ""
        if "web-credentials" in profile.features:
            # WIC-REG-02: the WIC registers with a bearer token from the WWSF's issuer;
            # a vendor may provision its own (credentials.token)
            issuer = TokenIssuer(ctx.timeline, profile.auth.tokens, ctx.pki)
            await issuer.start()
            ctx.actors["issuer"] = issuer
            token = profile.token or issuer.mint("valid", impi=profile.impi, impus=(profile.impu,)).token
            ctx.vars["token"] = token
            emulator.expect_bearer(token)
        driver = wic_driver(ctx)
        ctx.actors["driver"] = driver
        env = WicEnv(
            profile=profile,
            pki=ctx.pki,
            epcscf_url=emulator.url,
            ca_pem=ctx.pki.ca_pem,
            workdir=ctx.workdir,
            log=lambda line: ctx.timeline.add("sut", NOTE, line),
            token=token,
        )
        await start_within(driver.start(env), profile, f"the WIC ({profile.driver})")
        ctx.vars["wwsf_origin"] = expected_origin(ctx)
        ctx.timeline.add(
            "runner", NOTE,
            f"WIC ({profile.driver} driver) started, told to use {emulator.url}; "
            f"expected Origin {ctx.vars['wwsf_origin']}",
            faults=list(profile.faults),
        )
        yield
    finally:
        teardown = Teardown(ctx.timeline)
        if driver is not None:
            await teardown.stop(f"the WIC ({profile.driver} driver)", driver.stop(), 10.0)
            ctx.sut_logs["wic"] = driver.log_text()
        await teardown.stop("the eP-CSCF emulator", emulator.stop(), 10.0)
        if issuer is not None:
            await teardown.stop("the token issuer", issuer.stop(), 5.0)
        teardown.finish()
        if emulator.callback_errors:
            # a wicct bug inside the server: the verdict cannot be trusted, so ERROR
            raise RuntimeError(f"eP-CSCF emulator callback failed: {emulator.callback_errors[0]}")


def expected_origin(ctx: CaseContext) -> str:
    """WIC-HS-02's expected Origin: the driver's effective page origin when it has one
    (a browser page served on a port chosen at start), else the profile's WWSF origin."""
    driver = ctx.actors.get("driver")
    return str(getattr(driver, "origin", "") or ctx.profile.wwsf_origin)


def emulator(ctx: CaseContext) -> EpcscfEmulator:
    return ctx.actor("epcscf")


def connect_window(ctx: CaseContext) -> float:
    """How long a WIC told to register may take to connect and send its first request."""
    return ctx.timers.handshake_timeout + ctx.timers.response_timeout
