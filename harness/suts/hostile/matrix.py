"""The hostile-SUT matrix (issue 11 item 3): every misbehaviour a built-in hostile peer
can be switched to (`driver: hostile`, `driver_options: {behaviour: <row>}`), for which
roles, and what wicct must make of it.

A row's expectation is what `tests/hostile/` asserts on the report of a `wicct run`
against that peer: the exit code is never 0 (a misbehaving SUT never passes a run); the
case verdicts allowed; requirement ids (by prefix) on which no finding may PASS (a junk
sender never passes a framing requirement, RFC 6455 §5 / RFC 7118 §4.2); every case ends
within its deadline + 1 s; under 400 MiB peak RSS; report.json under 10 MB.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.profiles import Profile
from harness.verdicts import Verdict

ROLES = ("epcscf", "wic")
# the framing rows (RFC 6455 §5, RFC 7118 §4.2, §5) no junk sender may PASS. WIC-FR-02
# (every client frame masked) is left out: every frame of the hostile WIC is masked
# (websockets masks its own; the hand-written headers carry the mask bit), so its PASS
# there is deserved.
FRAMING = ("WIC-FR-01", "WIC-FR-03", "BOTH-FR-", "EPC-FR-")
ANY = ("",)  # every requirement id starts with ""

# the bounds of every row (issue 11, "What must hold when resolved")
DEADLINE_SLACK_S = 1.0
MAX_RSS_MIB = 400
MAX_REPORT_BYTES = 10 * 1024 * 1024

_NOT_TRIED = frozenset({Verdict.INCONCLUSIVE})
_ALL = frozenset(Verdict)


@dataclass(frozen=True, kw_only=True)
class Expectation:
    """What a run against the row's peer must show."""

    exit_codes: frozenset[int] = frozenset({1, 2})  # never 0
    case_verdicts: frozenset[Verdict] = _ALL  # every case's verdict is one of these
    no_pass_on: tuple[str, ...] = FRAMING  # no PASS finding on an id with these prefixes
    fails: tuple[str, ...] = ()  # ids that must have a FAIL finding (the peer was caught)
    setup_failure: bool = False  # the pre-flight probe refuses the profile (exit 2)
    # a bound or a judgement wicct does not keep yet, and why: the row's test is an expected
    # failure (strict: it says so once the gap is closed)
    gap: str = ""


@dataclass(frozen=True, kw_only=True)
class Row:
    name: str
    roles: tuple[str, ...]
    what: str  # what the peer does, one line
    expect: dict[str, Expectation]  # per role


def _both(name: str, what: str, epcscf: Expectation, wic: Expectation) -> Row:
    return Row(name=name, roles=ROLES, what=what, expect={"epcscf": epcscf, "wic": wic})


def _wic(name: str, what: str, wic: Expectation) -> Row:
    return Row(name=name, roles=("wic",), what=what, expect={"wic": wic})


def _epcscf(name: str, what: str, epcscf: Expectation) -> Row:
    return Row(name=name, roles=("epcscf",), what=what, expect={"epcscf": epcscf})


# An eP-CSCF the pre-flight probe cannot finish a handshake with: a set-up failure, its
# cases not tried (INCONCLUSIVE), exit 2, nothing PASSes.
_SETUP = Expectation(
    exit_codes=frozenset({2}), case_verdicts=_NOT_TRIED, no_pass_on=ANY, setup_failure=True
)
_JUNK = Expectation()  # no PASS on a framing requirement, exit never 0
_NO_PASS = Expectation(no_pass_on=ANY)  # nothing at all PASSes
_FAIL_INC = frozenset({Verdict.FAIL, Verdict.INCONCLUSIVE})


def _caught(
    *ids: str, no_pass_on: tuple[str, ...] = ANY, verdicts: frozenset[Verdict] = _FAIL_INC
) -> Expectation:
    """The peer is caught: each of `ids` FAILs (exit 1)."""
    return Expectation(
        exit_codes=frozenset({1}), case_verdicts=verdicts, no_pass_on=no_pass_on, fails=ids
    )


_VALID_EPC = _caught("EPC-REG-01", no_pass_on=(), verdicts=_ALL)
# a WIC that never registers: its cases INCONCLUSIVE (or PASS where nothing else was
# needed), never a wicct ERROR
_VALID_WIC = Expectation(no_pass_on=(), case_verdicts=_ALL - {Verdict.ERROR})

# a WIC whose handshake never completes (or whose upgrade requests websockets refuses,
# 431): WIC-HS-01 FAILs, and neither it nor WIC-HS-02 nor a framing row PASSes; WIC-HS-03
# PASSes deservedly over a whole suite (the peer refuses wicct's bad certificates)
_HANDSHAKE_WIC = _caught(
    "WIC-HS-01", no_pass_on=("WIC-HS-01", "WIC-HS-02", *FRAMING),
    verdicts=_FAIL_INC | {Verdict.NOT_APPLICABLE, Verdict.PASS},
)

# an eP-CSCF that sends torture messages never answers the REGISTER (none of them is its
# response): EPC-REG-01 FAILs, and no framing row PASSes
_EPC_TORTURE = _caught("EPC-REG-01", no_pass_on=FRAMING, verdicts=_ALL)
# a WIC's torture message is not one SIP message per WebSocket message (dblreq is two);
# those that are not UTF-8 go in binary frames (RFC 7118 §4.2), so WIC-FR-03 may PASS; the
# rows on its reaction to wicct's stimuli may PASS where the reaction is silence (BOTH-FR-07
# b: a response discarded), but what it sends is neither one SIP message each (WIC-FR-01)
# nor only SIP (BOTH-FR-10)
_WIC_TORTURE = _caught(
    "WIC-FR-01", no_pass_on=("WIC-FR-01", "BOTH-FR-10"), verdicts=_ALL
)

ROWS: tuple[Row, ...] = (
    _both(
        "stall-after-tcp", "accepts (opens) TCP, then says nothing: no TLS",
        _SETUP, Expectation(case_verdicts=_NOT_TRIED, no_pass_on=ANY),
    ),
    _both("stall-after-tls", "finishes TLS, then says nothing: no upgrade", _SETUP, _HANDSHAKE_WIC),
    _both(
        "stall-after-upgrade", "finishes the upgrade, then reads and answers nothing",
        _caught("EPC-REG-01", no_pass_on=FRAMING, verdicts=_ALL),
        Expectation(case_verdicts=_NOT_TRIED | {Verdict.PASS}),
    ),
    # the pre-flight probe reads a whole 101 through websockets' parser: half a 101 is no
    # answer, a set-up failure
    _both(
        "close-mid-handshake", "closes half-way through its handshake message",
        _SETUP, _HANDSHAKE_WIC,
    ),
    _both(
        "slow-handshake", "sends its handshake message one octet a second",
        _SETUP, _HANDSHAKE_WIC,
    ),
    _both(
        "garbage-handshake", "sends random octets instead of its handshake",
        _SETUP, _HANDSHAKE_WIC,
    ),
    _epcscf(
        "wrong-accept", "answers the upgrade with a wrong Sec-WebSocket-Accept",
        _caught("EPC-HS-01"),
    ),
    _both("reset-mid-frame", "sends half a frame, then a TCP RST", _JUNK, _JUNK),
    _epcscf("untrusted-cert", "presents a certificate of a CA wicct does not trust", _SETUP),
    _epcscf("expired-cert", "presents a certificate that expired yesterday", _SETUP),
    _epcscf("wrong-name-cert", "presents a certificate for another host name", _SETUP),
    # the floods keep their bounds since evidence is capped (issue 11 item 2, `limits`)
    _both("binary-junk", "sends binary frames of random octets without end", _JUNK, _JUNK),
    _both("raw-junk", "sends random octets, not frames, without end", _JUNK, _JUNK),
    _both("oversize-message", "sends one 64 MiB text frame", _JUNK, _JUNK),
    _both("huge-length", "announces a frame of 2^62 octets", _JUNK, _JUNK),
    _both(
        "endless-continuations", "a text frame without FIN, then empty continuations forever",
        _JUNK, _JUNK,
    ),
    _both("ping-flood", "sends Pings without end", _JUNK, _JUNK),
    _both(
        "invalid-utf8", "text frames whose payload is not UTF-8",
        # its TLS client verifies wicct's certificates: WIC-HS-03's cases PASS deservedly
        _JUNK, _caught("WIC-FR-03", no_pass_on=FRAMING, verdicts=_FAIL_INC | {Verdict.PASS}),
    ),
    _both(
        "torture-requests", "sends every RFC 4475 torture message as a request",
        _EPC_TORTURE, _WIC_TORTURE,
    ),
    _both(
        "torture-responses",
        "answers each request with every RFC 4475 torture message, in a response's place",
        _EPC_TORTURE,
        # a case that ends before wicct sends a request (WIC-HS-01) sees only the WIC's
        # valid REGISTER: WIC-FR-01 PASSes there, and FAILs where requests were answered
        _caught("WIC-FR-01", no_pass_on=("BOTH-FR-10",), verdicts=_ALL),
    ),
    # duplicated 200s are SIP (BOTH-FR-10 may PASS); an eP-CSCF that answers instead of
    # forwarding is caught by EPC-REG-01; a response sent twice over the WebSocket to a
    # request sent once is a retransmission on a reliable transport (RFC 3261 §17.2.2):
    # the always-on BOTH-TP-04 monitor catches either role (it PASSes in a case that ends
    # before anything was answered)
    _both(
        "duplicated-responses", "answers each request with the same 200 OK twice",
        _caught("EPC-REG-01", "BOTH-TP-04", no_pass_on=("EPC-FR-",), verdicts=_ALL),
        _caught("BOTH-TP-04", no_pass_on=(), verdicts=_ALL),
    ),
    # -- issue 11, later rows: floods of valid SIP, bulk within the limits, lies ----------
    # valid SIP earns its PASSes on the framing rows (no_pass_on=()); an eP-CSCF that never
    # forwards the REGISTER is caught by EPC-REG-01; a WIC that never registers leaves its
    # cases INCONCLUSIVE (exit 1 under --strict)
    # open over the whole suites (bench/hostile_matrix.py; the few cases of tests/hostile
    # keep every bound): report.json is 11.5 MB (eP-CSCF) and 17.7 MB (WIC), each case up
    # to the hard cap of 2000 stored entries of distinct valid SIP (evidence.py): a per-run
    # evidence budget is needed
    _both(
        "request-flood", "sends valid OPTIONS and MESSAGE requests without end, each a new "
        "transaction", _VALID_EPC, _VALID_WIC,
    ),
    # wicct's eP-CSCF emulator holds at most 32 of a WIC's connections at once and closes
    # the rest at accept, with a note (`MAX_WIC_CONNECTIONS`). The peer's own TLS clients
    # share wicct's process (about 330 KiB each, asyncio's TLS read buffer; wicct's side
    # costs little: 48 clients against a limit of 32 or of 8 differ by 3 MiB), so the row
    # opens 48, half again the limit: the whole suite peaks at 382 MiB with four cases at once
    _wic("many-connections", "opens 48 WebSockets to wicct's eP-CSCF emulator and holds them", _VALID_WIC),
    # websockets' limits (a line of 8 kB, 128 headers) refuse the handshake message, and the
    # finding says which limit: a 431 from wicct's server, or "expected no more than ..."
    _both(
        "huge-http-header", "puts a 1 MiB header line in its upgrade request / 101",
        _caught("EPC-HS-01"), _HANDSHAKE_WIC,
    ),
    _both(
        "many-http-headers", "puts 5000 header lines in its upgrade request / 101",
        _caught("EPC-HS-01"), _HANDSHAKE_WIC,
    ),
    _both(
        "many-sip-headers", "sends a request, and answers each request, with 5000 header lines",
        _VALID_EPC, _VALID_WIC,
    ),
    # wicct answers an offer of at most `harness.sdp.jsep.MAX_SECTIONS` m= sections (488 past it)
    _both(
        "huge-sdp", "sends an INVITE, and answers each request, with an SDP of 5000 m= sections",
        _VALID_EPC, _VALID_WIC,
    ),
    # wicct never offers nor accepts permessage-deflate (RFC 7692): the eP-CSCF's 101 with
    # it is refused (RFC 6455 §9.1, EPC-HS-01 FAILs); the WIC's RSV1 frames after a 101
    # without it fail the connection with 1002 (RFC 6455 §5.2) before anything inflates
    _both(
        "deflate-bomb", "negotiates permessage-deflate wicct never offers/accepts, then sends "
        "RSV1 frames inflating 1000:1",
        # its refusals are websockets' own (a missing subprotocol, two Origins): deserved PASSes
        _caught("EPC-HS-01", no_pass_on=("EPC-HS-01", *FRAMING), verdicts=_ALL), _JUNK,
    ),
    _both(
        "unrelated-responses", "answers every request with a 200 of another transaction",
        _VALID_EPC, _VALID_WIC,
    ),
)

BY_NAME = {row.name: row for row in ROWS}


def rows_for(role: str) -> list[Row]:
    return [row for row in ROWS if role in row.roles]


def behaviours(role: str) -> list[str]:
    return [row.name for row in rows_for(role)]


def check_behaviour(profile: Profile) -> list[tuple[str, str]]:
    """A driver's `check_options`: the behaviour must be a row of the profile's role."""
    value = profile.driver_options.get("behaviour")
    known = behaviours(profile.role)
    if value not in known:
        return [("driver_options.behaviour", f"{value!r} is not one of: {', '.join(known)}")]
    return []


def profile_text(role: str, behaviour: str, *, name: str | None = None) -> str:
    """A profile (YAML) for the hostile peer of `role` switched to `behaviour`, with short
    timers so that every wait of a case against it is short."""
    if behaviour not in BY_NAME or role not in BY_NAME[behaviour].roles:
        raise ValueError(f"no hostile {role} behaviour {behaviour!r}")
    title = name or f"hostile {role}: {behaviour}"
    common = f"""name: "{title}"
role: {role}
driver: hostile
driver_options:
  behaviour: {behaviour}
sut:
  ca: generated
  domain: ims.example.test
wwsf_origin: https://wwsf.example.test
credentials:
  impi: alice@ims.example.test
  impu: sip:alice@ims.example.test
  password: hostile-secret-pw
timers:
  t1: 50ms
  keepalive_window: 2s
  silence_window: 2s
  response_timeout: 1s
  pong_timeout: 1s
  handshake_timeout: 2s
  start_timeout: 3s
"""
    if role == "epcscf":
        return common + """trusted_origins: [https://wwsf.example.test]
core:
  listen: udp://127.0.0.1:0
  callee: sip:bob@ims.example.test
features: [calls, outbound, digest]
"""
    # no `digest`: wicct's eP-CSCF emulator then registers the hostile WIC without a
    # challenge, so the rows that answer requests get wicct's requests
    return common + """core:
  callee: sip:bob@ims.example.test
features: [calls, outbound]
"""
