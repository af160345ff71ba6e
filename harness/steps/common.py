"""Steps that need no actor."""

from __future__ import annotations

import asyncio
from typing import Any

from harness.cases.context import CaseContext
from harness.cases.model import Step
from harness.cases.registry import step
from harness.profiles import parse_duration
from harness.steps.schema import DURATION


@step("wait", roles=("epcscf", "wic"), args={"for": DURATION}, required=("for",),
      window=("for", "response_timeout"))
async def wait(ctx: CaseContext, args: dict[str, Any], step_: Step) -> None:
    """Let time pass (a protocol-mandated wait, e.g. a keep-alive window)."""
    seconds = parse_duration(args["for"])
    await asyncio.sleep(seconds)
    ctx.mandated(seconds, "wait step")
