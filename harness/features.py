"""The PICS vocabulary: the feature names a profile may claim under `features:`.

A case lists the features it needs under `requires:`; a profile that does not claim one of
them makes the case NOT-APPLICABLE (harness.cases.runner). Some features also change what
wicct itself does (the `effect` column). The names are a closed list: a profile claiming a
name that is not declared here is a profile error (exit 2) naming the nearest known names,
so a typo cannot silently turn cases NOT-APPLICABLE. Names starting with `x-` are a
vendor's own (for the vendor's own cases' `requires:`) and are not checked.

docs/cases.md holds the table `markdown_table()` makes from the built-in cases
(tests/core/test_features.py keeps it in step); print it with `scripts/features-table.py`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

VENDOR_PREFIX = "x-"
BOTH = ("wic", "epcscf")


@dataclass(frozen=True, kw_only=True)
class Feature:
    """One PICS entry: its name, the SUT roles it means something for, and what it means."""

    name: str
    roles: tuple[str, ...]
    meaning: str
    effect: str = ""  # what wicct does differently when the profile claims it ("" if nothing)


FEATURES: tuple[Feature, ...] = (
    Feature(
        name="calls",
        roles=BOTH,
        meaning="The SUT places, receives and releases calls (INVITE with a JSEP/SDP offer, "
        "ACK, BYE).",
    ),
    Feature(
        name="digest",
        roles=BOTH,
        meaning="SIP digest authentication of REGISTER (RFC 3261 §22; TS 24.229 SIP digest).",
        effect="WIC role: wicct's eP-CSCF emulator challenges REGISTER (401) and checks the "
        "digest response against `credentials`. eP-CSCF role: wicct's WIC emulator registers "
        "with digest and the IMS-core stub challenges as the S-CSCF (EPC-REG-01).",
    ),
    Feature(
        name="web-credentials",
        roles=BOTH,
        meaning="Registration with web credentials: an OAuth 2.0 bearer token from the WWSF's "
        "authorization server (SEED 5.1.X.1.3, 5.Y.1.3; RFC 8898). WIC: sends "
        "`Authorization: Bearer`; eP-CSCF: validates the token and performs Trusted Node "
        "Authentication towards the IMS core (TS 33.203 Annex U).",
        effect="wicct starts its token issuer (JWKS and RFC 7662 introspection over HTTPS); "
        "WIC role: the WIC is given a token minted for `credentials.impi` (or "
        "`credentials.token`); eP-CSCF role: the driver is told the issuer's endpoints.",
    ),
    Feature(
        name="wwsf-identity",
        roles=("epcscf",),
        meaning="The eP-CSCF accepts tokens issued outside the operator domain and carries the "
        "WWSF / authorization entity's identity towards the core (SEED 5.Y.1.3, 5.Y.2; "
        "`auth.wwsf_identity` says where).",
    ),
    Feature(
        name="outbound",
        roles=BOTH,
        meaning="RFC 5626 outbound: +sip.instance and reg-id, flows kept, CRLFCRLF keep-alive "
        "answered with CRLF (RFC 5626 §4.4.1, RFC 7118 §6).",
        effect="eP-CSCF role: wicct's WIC emulator registers with outbound (Supported: path, "
        "outbound; +sip.instance, reg-id).",
    ),
    Feature(
        name="crlf_pong",
        roles=("wic",),
        meaning="The WIC answers a CRLFCRLF keep-alive from the server with a CRLF pong (a WIC "
        "is not obliged to).",
    ),
    Feature(
        name="ice",
        roles=("wic",),
        meaning="The WIC's SDP carries ICE candidates (RFC 8445); a claim only: "
        "no case gates on it yet.",
    ),
    Feature(
        name="path",
        roles=("epcscf",),
        meaning="The eP-CSCF adds a Path header to REGISTER (RFC 3327); a claim only: "
        "no case gates on it yet.",
    ),
    Feature(
        name="record-route",
        roles=("epcscf",),
        meaning="The eP-CSCF Record-Routes dialog-creating requests (RFC 3261 §16.6); a claim "
        "only: no case gates on it yet.",
    ),
    Feature(
        name="edge-media",
        roles=("epcscf",),
        meaning="The eP-CSCF handles media at the IMS edge with its eIMS-AGW (TS 23.228 Annex "
        "U): WebRTC SDP towards the WIC, BUNDLE removed towards the core (U.1). Without it "
        "the SDP passes the edge unchanged and EPC-SES-01 is NOT-APPLICABLE.",
    ),
)

BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}


def names() -> list[str]:
    """The declared feature names, in declaration order."""
    return [f.name for f in FEATURES]


def is_known(name: str) -> bool:
    """Declared here, or a vendor's own `x-` name."""
    return name in BY_NAME or name.startswith(VENDOR_PREFIX)


def unknown_message(name: str) -> str:
    """The error for an undeclared name: the nearest known names, then all of them."""
    near = difflib.get_close_matches(name, names(), n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    return (
        f"unknown feature {name!r}: {hint}known: {', '.join(names())} "
        f"(a vendor's own feature starts with {VENDOR_PREFIX!r})"
    )


def markdown_table(gated: Mapping[str, Iterable[str]]) -> str:
    """The docs/cases.md table: name, roles, meaning, wicct's own use, and the cases each
    gates (`gated`: feature → case ids, from the cases' `requires:`)."""
    gates = gated
    rows = [
        "| feature | roles | meaning | wicct also | built-in cases it gates |",
        "|---|---|---|---|---|",
    ]
    for feature in FEATURES:
        cases = ", ".join(f"`{c}`" for c in gates.get(feature.name, ())) or "none"
        rows.append(
            f"| `{feature.name}` | {', '.join(feature.roles)} | {feature.meaning} "
            f"| {feature.effect or '-'} | {cases} |"
        )
    return "\n".join(rows) + "\n"

