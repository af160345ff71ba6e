"""The eP-CSCF role's environment (SUT = eP-CSCF; wicct = WIC + IMS core).

The environment starts wicct's IMS-core stub, brings the SUT up through its driver (the
reference eP-CSCF, Kamailio, or an external endpoint) with the core as its next hop, and
places the WIC emulator in `ctx.actors["peer"]` (also `"wic"`) and the core stub in
`ctx.actors["core"]`. The role-neutral steps of `harness.steps.peer` then work on the WIC
emulator; the other modules of this package add what only this role has.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from harness.actors.core import CoreStub
from harness.actors.token_issuer import TokenIssuer
from harness.actors.wic_emulator import WicEmulator
from harness.cases.context import CaseContext
from harness.cases.registry import environment
from harness.cases.teardown import Teardown
from harness.evidence import NOTE
from harness.pki import client_context
from harness.suts.base import EpcscfDriver, EpcscfEnv, SutUnavailable, start_within
from harness.suts.registry import make_driver

EPCSCF = ("epcscf",)  # the roles of this package's steps
STOP_TIMEOUT = 5.0


@environment("epcscf")
@contextlib.asynccontextmanager
async def epcscf_environment(ctx: CaseContext) -> AsyncIterator[None]:
    """wicct as WIC + IMS core around an eP-CSCF under test."""
    profile = ctx.profile
    core = CoreStub(ctx.timeline, profile)
    await core.start()
    ctx.actors["core"] = core
    driver: EpcscfDriver | None = None
    wic: WicEmulator | None = None
    issuer: TokenIssuer | None = None

    def log(text: str) -> None:
        ctx.timeline.add("sut", NOTE, text)

    try:
        if "web-credentials" in profile.features:
            issuer = TokenIssuer(ctx.timeline, profile.auth.tokens, ctx.pki)
            await issuer.start()
            ctx.actors["issuer"] = issuer
        driver = epcscf_driver(ctx)
        env = EpcscfEnv(
            profile=profile,
            pki=ctx.pki,
            core_host=core.host,
            core_port=core.port,
            core_transport=core.transport,
            workdir=ctx.workdir,
            log=log,
            issuer=issuer.endpoint() if issuer is not None else None,
        )
        endpoint = await start_within(driver.start(env), profile, f"{profile.driver} eP-CSCF")
        ctx.timeline.add(
            "runner", NOTE, f"eP-CSCF under test at {endpoint.ws_url} ({profile.driver})",
            url=endpoint.ws_url, ca=str(endpoint.ca_pem) if endpoint.ca_pem else None,
            tls_verify=profile.tls_verify,
        )
        secure = endpoint.ws_url.startswith("wss:")
        context = client_context(endpoint.ca_pem, verify=profile.tls_verify) if secure else None
        # SEED 5.Y.1.3: with web credentials every default REGISTER carries a valid token
        bearer = issuer.mint("valid", impi=profile.impi, impus=(profile.impu,)).token if issuer else None
        wic = WicEmulator(ctx.timeline, profile, endpoint.ws_url, context, server_hostname=endpoint.host,
                          bearer=bearer)
        ctx.actors["peer"] = ctx.actors["wic"] = wic
        yield
    finally:
        teardown = Teardown(ctx.timeline)
        if wic is not None:
            await teardown.stop("the WIC emulator", wic.stop(), STOP_TIMEOUT)
        if driver is not None:
            await teardown.stop(f"the {profile.driver} driver", driver.stop(), 2 * STOP_TIMEOUT)
            ctx.sut_logs[f"epcscf-{driver.name}"] = driver.log_text()
        await teardown.stop("the core stub", core.stop(), STOP_TIMEOUT)
        if issuer is not None:
            await teardown.stop("the token issuer", issuer.stop(), STOP_TIMEOUT)
        teardown.finish()


def epcscf_driver(ctx: CaseContext) -> EpcscfDriver:
    """The eP-CSCF's driver for this profile."""
    driver = make_driver(ctx.profile)
    if not isinstance(driver, EpcscfDriver):
        raise SutUnavailable(f"driver {ctx.profile.driver!r} is not an eP-CSCF driver")
    return driver


def wic(ctx: CaseContext) -> WicEmulator:
    return ctx.actor("wic")


def core(ctx: CaseContext) -> CoreStub:
    return ctx.actor("core")


def issuer(ctx: CaseContext) -> TokenIssuer:
    """wicct's token issuer (started when the profile claims `web-credentials`)."""
    return ctx.actor("issuer")
