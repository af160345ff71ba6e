"""SIP digest with TLS at the reference eP-CSCF (TS 24.229 5.2.2.4; SEED 5.Y.1.2): the
`integrity-protected` parameter of the Authorization it forwards to the registrar.

Per WebSocket flow it tracks the registration: not yet challenged, challenged (a 401/407
to a REGISTER went back over it), bound (a 2xx followed the challenge). Each Digest
credentials of a REGISTER then gets the profile's value for that stage
(`auth.integrity_protected`: `first`, `challenge_response`, `later`; `absent` removes the
parameter), whatever the WIC put there: a client never sets it itself (EPC-REG-07).
The fault switches of this module each break EPC-REG-01 alone:

- `integrity_protected_no`: the first REGISTER says `no` (IMS AKA without protection);
- `integrity_on_first_register`: the first REGISTER already carries the challenge
  response's value;
- `no_tls_pending`: the challenge response goes without the parameter;
- `no_tls_yes`: the session is never bound: later REGISTERs keep the challenge
  response's value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness.sip import SipMessage, SipParseError
from harness.sip.auth import parse_credentials
from harness.sip.headers import quote
from harness.suts.reference.epcscf.editing import set_values

PARAM = "integrity-protected"
ABSENT = "absent"
FAULTS = frozenset({"integrity_protected_no", "integrity_on_first_register", "no_tls_pending", "no_tls_yes",
                    "keep_wic_integrity_when_bound"})


@dataclass
class FlowRegistration:
    """Where a flow's digest registration stands."""

    challenged: bool = False
    bound: bool = False


class Integrity:
    """See the module docstring."""

    def __init__(self, settings: Mapping[str, str], faults: frozenset[str], log: Callable[[str], None]) -> None:
        self.settings = dict(settings)
        self.faults = faults & FAULTS
        self.log = log
        self.flows: dict[str, FlowRegistration] = {}

    def stage(self, flow: str) -> str:
        state = self.flows.setdefault(flow, FlowRegistration())
        return "later" if state.bound else "challenge_response" if state.challenged else "first"

    def value(self, flow: str) -> str:
        """The profile's value for the flow's stage (or what a fault puts instead)."""
        stage = self.stage(flow)
        broken = {
            ("first", "integrity_protected_no"): "no",
            ("first", "integrity_on_first_register"): self.settings["challenge_response"],
            ("challenge_response", "no_tls_pending"): ABSENT,
            ("later", "no_tls_yes"): self.settings["challenge_response"],
        }
        for fault in sorted(self.faults):
            if (stage, fault) in broken:
                return broken[(stage, fault)]
        return self.settings[stage]

    def forward(self, flow: str, msg: SipMessage) -> SipMessage:
        """The REGISTER as it goes to the core: each Digest Authorization marked."""
        values = msg.header_values("Authorization")
        if not values:
            return msg
        value = self.value(flow)
        if "keep_wic_integrity_when_bound" in self.faults and self.stage(flow) == "later" \
                and any(PARAM in v.lower() for v in values):
            # TS 33.203 P.4 broken on purpose: on a bound session the WIC's own flag stands
            self.log(f"flow {flow}: REGISTER with the WIC's own {PARAM} forwarded (fault)")
            return msg
        marked = [_marked(v, value) for v in values]
        if marked == values:
            return msg
        self.log(f"flow {flow}: REGISTER with {PARAM} {value} ({self.stage(flow)})"
                 + (f"; faults: {', '.join(sorted(self.faults))}" if self.faults else ""))
        return set_values(msg, "Authorization", marked)

    def answered(self, flow: str, status: int) -> None:
        """A final response to a REGISTER of `flow` went back to the WIC."""
        state = self.flows.setdefault(flow, FlowRegistration())
        if status in (401, 407):
            state.challenged = True
        elif 200 <= status < 300 and state.challenged:
            state.bound = True


def _marked(text: str, value: str) -> str:
    """Digest credentials with `integrity-protected` set to `value` (or removed)."""
    try:
        credentials = parse_credentials(text)
    except SipParseError:
        return text
    if credentials.scheme.lower() != "digest":
        return text
    params = [f"{k}={quote(v) if credentials.quoted.get(k) else v}"
              for k, v in credentials.params.items() if k != PARAM]
    if value != ABSENT:
        params.append(f"{PARAM}={quote(value)}")
    return f"{credentials.scheme} " + ", ".join(params)


__all__ = ["FAULTS", "FlowRegistration", "Integrity"]
