"""Registration through an eP-CSCF under test, judged at the registrar (EPC-REG-01).

    core.registrar   the IMS-core stub plays the S-CSCF's digest registrar (TS 24.229
                     5.4.1.2): 401 challenge, digest check, 200 with Service-Route and
                     P-Associated-URI
    registrar        (monitor) every REGISTER the core received: Path (RFC 3327) and
                     `integrity-protected` per the profile's `auth.integrity_protected`
                     (TS 24.229 5.2.2.4, values unconfirmed: the finding names them)
"""

from __future__ import annotations

from typing import Any

from harness.cases.context import CaseContext
from harness.cases.model import Step
from harness.cases.registry import monitor, step
from harness.checks import registrar
from harness.steps.epcscf.env import EPCSCF, core
from harness.verdicts import Finding

REQUIREMENT = "EPC-REG-01"


@step(
    "core.registrar",
    roles=EPCSCF,
    args={"auth": {"enum": ["digest", "none"]}, "algorithm": {"enum": ["MD5", "SHA-256"]}},
    required=("auth",),
)
async def core_registrar(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """How the IMS-core stub's registrar authenticates REGISTER: `digest` (challenge with
    401, realm = the profile's domain, qop=auth; verify against `credentials.password`)
    or `none` (the default: every REGISTER is accepted)."""
    core(ctx).set_registrar(args["auth"], algorithm=args.get("algorithm", "MD5"))


@monitor("registrar", requirements=[REQUIREMENT])
def registrar_monitor(ctx: CaseContext) -> list[Finding]:
    """Every REGISTER the core received carries a Path and the `integrity-protected` value
    the profile gives its stage (first, challenge response, later); never `no`."""
    registers = registrar.forwarded_registers(list(ctx.timeline), core(ctx).actor_name)
    findings: list[Finding] = []
    expected = ctx.profile.auth.integrity_protected
    for judgement in (registrar.path_on_every_register(registers),
                      registrar.integrity_protected(registers, expected)):
        if judgement is not None:
            findings += ctx.judge(judgement.verdict, f"monitor: {judgement.reason}", evidence=judgement.evidence,
                                  requirement=REQUIREMENT, note=judgement.note)
    return findings
