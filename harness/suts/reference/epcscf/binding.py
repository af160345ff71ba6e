"""The reference eP-CSCF's IMPU binding (SEED 5.Y.1.3: the IMPI and IMPUs of a
registration are bound to the WebSocket session; TS 33.203 Annex Q.1).

When the core answers a REGISTER with a 2xx, the IMPUs it registered (the 2xx's
P-Associated-URI when present, RFC 7315 §4.1, else the REGISTER's To) are bound to the
WebSocket flow the REGISTER came over. A request over another flow that asserts one of
them (From, P-Preferred-Identity or P-Asserted-Identity) is refused with 403; an ACK is
dropped. A flow that closes, or a registration removed with Expires 0, releases its IMPUs.
The fault `no_impu_binding` switches the refusal off (the proxy logs what it let through).
"""

from __future__ import annotations

from harness.sip import NameAddr, SipMessage, SipParseError, SipUri

IDENTITY_HEADERS = ("From", "P-Preferred-Identity", "P-Asserted-Identity")


def impu_key(uri: str) -> str | None:
    """An identity as the binding compares it: user@host (host case-insensitive)."""
    try:
        parsed = SipUri.parse(uri)
    except SipParseError:
        return None
    return f"{parsed.user or ''}@{parsed.host.lower()}"


def _keys(values: list[str]) -> set[str]:
    keys = set()
    for value in values:
        try:
            key = impu_key(str(NameAddr.parse(value).uri))
        except SipParseError:
            continue
        if key is not None:
            keys.add(key)
    return keys


def _removes(register: SipMessage) -> bool:
    """The REGISTER removes its bindings (RFC 3261 §10.2.2: Expires 0 or `*`)."""
    if register.header("Contact") == "*":
        return True
    expires = (register.header("Expires") or "").strip()
    contacts = register.contacts
    return bool(contacts) and all((c.param("expires") or expires) == "0" for c in contacts)


class ImpuBindings:
    """Which WebSocket flow (by its token) registered which IMPUs."""

    def __init__(self) -> None:
        self.flows: dict[str, set[str]] = {}

    def registered(self, flow: str, register: SipMessage, ok: SipMessage) -> set[str]:
        """The core's 2xx `ok` to `register` over `flow`: bind (or release) its IMPUs."""
        impus = _keys(ok.header_values("P-Associated-URI")) or _keys([register.header("To") or ""])
        if _removes(register):
            self.flows[flow] = self.flows.get(flow, set()) - impus
        else:
            self.flows.setdefault(flow, set()).update(impus)
        return impus

    def forget(self, flow: str) -> None:
        self.flows.pop(flow, None)

    def foreign_claim(self, flow: str, request: SipMessage) -> str | None:
        """The first IMPU `request` asserts that another flow registered and `flow` did not."""
        mine = self.flows.get(flow, set())
        for name in IDENTITY_HEADERS:
            for key in sorted(_keys(request.header_values(name)) - mine):
                if any(key in impus for other, impus in self.flows.items() if other != flow):
                    return key
        return None


__all__ = ["ImpuBindings", "impu_key"]
