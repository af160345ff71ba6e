"""Registration security of the WIC under test: wicct's eP-CSCF emulator challenges with
Digest (WIC-REG-01: SEED 5.1.X.1.2, TS 24.229 5.1.1.2.4, RFC 3261 §22, RFC 7616) or expects
the Bearer token the WIC was provisioned with (WIC-REG-02: SEED 5.1.X.1.3, RFC 6750 §2.1,
RFC 8898 §2.1, TS 24.371 7.2.1).

The judging is in `harness.checks.wic_auth`, over every REGISTER (and for WIC-REG-02 every
request) of the case, once the steps are over: the `expect.*` steps here wait for the
exchange to have happened and arm that judgement as a watch.
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness.cases.context import CaseContext, NotApplicable, Precondition
from harness.cases.model import Step
from harness.cases.registry import step
from harness.checks import wic_auth
from harness.checks.framing import Judgement
from harness.steps.wic.connection import POLL
from harness.steps.wic.env import WIC, connect_window, emulator
from harness.verdicts import Strength

ALGORITHMS = ("MD5", "SHA-256")


@step(
    "epcscf.digest",
    roles=WIC,
    args={"algorithm": {"enum": list(ALGORITHMS)}, "stale": {"type": "integer", "minimum": 0, "maximum": 3}},
)
async def epcscf_digest(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Challenge the WIC's REGISTERs with Digest `algorithm` (default: the first of the
    profile's `auth.digest_algorithms`), qop=auth; refuse the first `stale` right answers
    with a fresh nonce and `stale=true`. NOT-APPLICABLE when the profile's WIC does not
    support the algorithm, or registers with web credentials instead."""
    profile = ctx.profile
    if "web-credentials" in profile.features:
        raise NotApplicable("the profile claims web-credentials: wicct gives the WIC a Bearer token "
                            "and does not challenge it with Digest")
    algorithm = args.get("algorithm") or profile.auth.digest_algorithms[0]
    if algorithm not in profile.auth.digest_algorithms:
        raise NotApplicable(f"the profile's WIC does not support Digest {algorithm} "
                            f"(auth.digest_algorithms: {', '.join(profile.auth.digest_algorithms)})")
    emulator(ctx).use_digest(algorithm, stale_rounds=int(args.get("stale", 0)))


def _arm(ctx: CaseContext, name: str, judge: Any) -> None:
    """Arm a judgement of the whole case once, however often the step is used."""
    armed = ctx.vars.setdefault("_auth_watches", set())
    if name not in armed:
        armed.add(name)
        ctx.watches.append(judge)


def _record(ctx: CaseContext, found: Judgement | None, requirement: str, strength: Strength | None = None) -> None:
    if found is not None:
        ctx.judge(found.verdict, found.reason, evidence=found.evidence, requirement=requirement,
                  note=found.note, strength=strength)


@step("expect.digest", roles=WIC, args={"challenges": {"type": "integer", "minimum": 1}},
      on_timeout="inconclusive")
async def expect_digest(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """WIC-REG-01: wait until wicct sent at least `challenges` (default 1) Digest 401s to
    REGISTER and the WIC sent a REGISTER after each; then, once the steps are over, judge
    EVERY REGISTER of the case: after each 401 the same Call-ID, CSeq + 1 and a verified
    response for that nonce and algorithm (shall); each initial REGISTER with
    `Authorization: Digest` username = IMPI, realm, uri, nonce="", response="" (should);
    Security-Client / sec-agree (informational)."""
    emu = emulator(ctx)
    if emu.digest is None:
        raise RuntimeError("expect.digest: wicct does not challenge (no digest feature, no epcscf.digest)")
    wanted = int(args.get("challenges", 1))
    within = ctx.within(args, connect_window(ctx))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within

    def answered() -> tuple[int, bool]:
        entries = list(ctx.timeline)
        sent = wic_auth.challenges_sent(entries, emu.actor_name)
        facts = wic_auth.auth_facts(entries, emu.actor_name)
        last = facts[-1][0].seq if facts else 0
        return len(sent), bool(sent) and last > sent[-1].entry.seq

    while True:
        count, last_answered = answered()
        if (count >= wanted and last_answered) or loop.time() >= deadline:
            break
        await asyncio.sleep(POLL)
    if count == 0:
        raise Precondition(f"wicct sent no Digest challenge within {within:g} s: the WIC sent no REGISTER")
    if count < wanted:
        raise Precondition(f"wicct sent {count} Digest challenge(s) within {within:g} s, "
                           f"the case needs {wanted}: the WIC did not register again")
    domain, impi = ctx.profile.domain, ctx.profile.impi

    def judge(until: int) -> None:
        entries = [e for e in ctx.timeline if e.seq <= until]
        actor = emu.actor_name
        _record(ctx, wic_auth.digest_retries(entries, actor), "WIC-REG-01")
        _record(ctx, wic_auth.initial_authorization(entries, actor, impi, domain), "WIC-REG-01",
                Strength.SHOULD)
        _record(ctx, wic_auth.no_sec_agree(entries, actor), "WIC-REG-01")

    _arm(ctx, "digest", judge)


@step("expect.bearer", roles=WIC, args={}, on_timeout="inconclusive")
async def expect_bearer(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """WIC-REG-02: wait for the WIC's first REGISTER; then, once the steps are over, judge
    EVERY request the WIC sent in the case: `Authorization: Bearer <b64token>` with the
    provisioned token (the `access_token="..."` form is NON-STRICT); CANCEL and the ACK
    for a non-2xx are not judged (RFC 3261 §22.1)."""
    emu = emulator(ctx)
    if not emu.token:
        raise RuntimeError("expect.bearer: the WIC was given no token (the profile does not claim "
                           "web-credentials)")
    within = ctx.within(args, connect_window(ctx))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within

    def registers() -> int:
        facts = wic_auth.auth_facts(list(ctx.timeline), emu.actor_name)
        return sum(f.get("method") == "REGISTER" for _, f in facts)

    while not registers() and loop.time() < deadline:
        await asyncio.sleep(POLL)
    if not registers():
        raise Precondition(f"the WIC sent no REGISTER within {within:g} s")

    def judge(until: int) -> None:
        entries = [e for e in ctx.timeline if e.seq <= until]
        _record(ctx, wic_auth.bearer_on_every_request(entries, emu.actor_name), "WIC-REG-02")

    _arm(ctx, "bearer", judge)
