"""A small run built from the real result classes: one case of each verdict, hostile evidence."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from harness.evidence import Timeline
from harness.requirements import catalogue
from harness.results import RunResult
from harness.verdicts import CaseResult, Finding, SutInfo, Verdict, case_verdict

XSS = '<script>alert("wicct-xss")</script>'
IMG = '<img src="http://evil.example/x.png">'
BINARY = b"\x81\xfe\x00\x05\xff\x00<script>"  # not UTF-8: lands in report.json as {"hex": ...}

EPC = "reference-epcscf"
WIC = "reference-wic"


def _clock() -> Any:
    ticks = itertools.count()
    return lambda: next(ticks) * 0.125


def finding(
    rid: str, verdict: Verdict, reason: str, evidence: tuple[int, ...] = (), note: str = ""
) -> Finding:
    req = catalogue()[rid]
    return Finding(
        requirement=rid,
        clause=req.clause,
        strength=req.strength,
        verdict=verdict,
        reason=reason,
        evidence=evidence,
        note=note,
    )


def case(
    case_id: str,
    profile: str,
    role: str,
    verifies: tuple[str, ...],
    findings: tuple[Finding, ...],
    timeline: Timeline | None = None,
    verdict: tuple[Verdict, str] | None = None,
) -> CaseResult:
    verdict_, reason = verdict or case_verdict(findings, verifies)
    return CaseResult(
        case_id=case_id,
        title=f"title of {case_id}",
        description=f"description of {case_id}",
        sut_role=role,
        profile=profile,
        verifies=verifies,
        clauses=tuple(catalogue()[r].clause for r in verifies),
        verdict=verdict_,
        reason=reason,
        findings=findings,
        evidence=tuple(timeline.to_json()) if timeline else (),
        duration_s=0.4321,
        source=f"testcases/{role}/{case_id}.yaml:1",
    )


def build_run(*, insecure: bool = False) -> RunResult:
    run = RunResult(started=dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    run.finished = run.started + dt.timedelta(seconds=12.5)
    run.suts = [
        SutInfo(
            profile=EPC,
            role="epcscf",
            name="reference eP-CSCF",
            driver="builtin",
            insecure=insecure,
        ),
        SutInfo(
            profile=WIC,
            role="wic",
            name="reference WIC",
            driver="builtin",
            faults=("two-per-frame",),
        ),
    ]
    run.notes = ["sample run for the report tests"]

    # PASS: a handshake with an attacker-looking Origin in the evidence.
    hs = Timeline(clock=_clock())
    hs.add(
        "wic",
        "http.request",
        "GET / offering sip",
        direction="tx",
        conn="c1",
        method="GET",
        path="/",
        headers=[["Origin", "https://attacker.example"], ["Sec-WebSocket-Protocol", "sip"]],
        raw=b"GET / HTTP/1.1\r\nOrigin: https://attacker.example\r\nSec-WebSocket-Protocol: sip\r\n\r\n",
    )
    hs.add("wic", "http.response", "101 Switching Protocols", direction="rx", conn="c1", status=101)
    run.add(
        case(
            "EPC-HS-01-basic",
            EPC,
            "epcscf",
            ("EPC-HS-01",),
            (
                finding(
                    "EPC-HS-01", Verdict.PASS, "101 selecting sip with a correct accept", (1, 2)
                ),
            ),
            hs,
        )
    )

    # FAIL, with a should-level FAIL too; hostile and binary payloads in the evidence.
    fr = Timeline(clock=_clock())
    fr.add("epcscf", "note", "connection accepted", conn="c9")
    fr.add(
        "epcscf",
        "ws.frame",
        "text frame with two SIP messages",
        direction="rx",
        conn="c9",
        opcode=1,
        fin=True,
        payload=f"MESSAGE sip:bob@example.com SIP/2.0\r\nSubject: {XSS}{IMG}\r\n\r\n",
    )
    fr.add(
        "epcscf", "ws.frame", "binary frame", direction="rx", conn="c9", opcode=2, payload=BINARY
    )
    fr.add("epcscf", "ws.close", "no close", direction="rx", conn="c9", code=1006)
    run.add(
        case(
            "WIC-FR-01-one-per-message",
            WIC,
            "wic",
            ("WIC-FR-01", "WIC-KA-04"),
            (
                finding("WIC-FR-01", Verdict.FAIL, f"two SIP messages in one frame {XSS}", (2, 3)),
                finding(
                    "WIC-KA-04",
                    Verdict.FAIL,
                    "the SUT closed the socket after BYE",
                    (4,),
                    note="NON-STRICT",
                ),
            ),
            fr,
        )
    )

    # PASS with an INFORMATIONAL finding (may-level: a FAIL becomes INFORMATIONAL).
    ka = Timeline(clock=_clock())
    ka.add("wic", "ws.frame", "ping", direction="rx", conn="c2", opcode=9, payload="")
    run.add(
        case(
            "EPC-KA-03-ping-policy",
            EPC,
            "epcscf",
            ("EPC-KA-03", "EPC-HS-01"),
            (
                finding("EPC-HS-01", Verdict.PASS, "handshake fine", ()),
                finding("EPC-KA-03", Verdict.FAIL, "the SUT sends no pings of its own", (1,)),
            ),
            ka,
        )
    )

    # NOT-APPLICABLE: no evidence at all.
    run.add(
        case(
            "WIC-SES-04-media",
            WIC,
            "wic",
            ("WIC-SES-04",),
            (),
            None,
            (Verdict.NOT_APPLICABLE, "profile declares no media support"),
        )
    )

    # ERROR: the harness itself broke.
    err = Timeline(clock=_clock())
    err.add("harness", "note", "traceback", error="KeyError: 'via'\n  File harness/x.py, line 1")
    run.add(
        case(
            "EPC-HS-02-no-sip",
            EPC,
            "epcscf",
            ("EPC-HS-02",),
            (),
            err,
            (Verdict.ERROR, "harness error: KeyError 'via'"),
        )
    )
    return run
