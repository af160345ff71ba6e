"""report.html: a self-contained compliance report derived from the canonical report dict.

Reads only the dict of `RunResult.to_json()` (format wicct-report/2), never live objects
(docs/architecture.md principle 5). The page works offline: CSS and the few lines of JS are inlined
and pinned by hash in a Content-Security-Policy that forbids every other load, so even a
payload that slipped past escaping could neither run nor fetch anything.

Evidence is attacker-controlled text (the SUT writes it), so the template runs with
autoescape on and nothing from the report is ever marked safe; only our own CSS and JS are.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from harness.report.ladder import build_ladder, left_out_seqs, render_svg

TEMPLATES = resources.files("harness.report").joinpath("templates")  # package data

VERDICT_ORDER = ("PASS", "FAIL", "INCONCLUSIVE", "NOT-APPLICABLE", "ERROR")
_SEVERITY = {
    "ERROR": 5,
    "FAIL": 4,
    "INCONCLUSIVE": 3,
    "PASS": 2,
    "INFORMATIONAL": 1,
    "NOT-APPLICABLE": 0,
}
_CSS_CLASS = {
    "PASS": "v-pass",
    "FAIL": "v-fail",
    "INCONCLUSIVE": "v-inconclusive",
    "NOT-APPLICABLE": "v-na",
    "ERROR": "v-error",
    "INFORMATIONAL": "v-info",
}
_TEXT_KEYS = frozenset({"raw", "payload", "body", "text", "reason", "error"})
_MAX_TEXT = 64 * 1024  # characters of one data block shown; report.json keeps the rest
_MAX_HEX = 16 * 1024  # bytes of one binary block shown as a hex dump
# The page stays small enough to open whatever the SUT sent (issue 11): a case shows the
# entries its findings cite and its first `CASE_ROWS` others; their data blocks share
# `PAGE_DATA` characters for the whole page, cited entries first, then the cases that did
# not pass. What is left out is counted on the page; report.json has everything.
CASE_ROWS = 200
PAGE_DATA = 1_000_000
_BETWEEN_TAGS = re.compile(r">\n[ \t]+<")
_VERBATIM = re.compile(r"(<pre\b.*?</pre>|<script\b.*?</script>|<style\b.*?</style>)", re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]|\r(?!\n)")


# -- rendering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintView:
    """The page as report.pdf prints it (harness/report/pdf.py): the summary, the requirement
    table and, per case that did not pass, its findings, ladder and cited evidence only; the
    full timelines of every case in an appendix when asked; an end marker naming `report_id`
    (ISO/IEC 17025 §7.8.2.1: a unique identification and a clear end)."""

    report_id: str
    appendix: bool = False


def render_html(
    report: Mapping[str, Any], *, problems: Sequence[str] = (), print_view: PrintView | None = None
) -> str:
    """The HTML page for `report`; `problems` (validation errors) are shown in a banner;
    `print_view` renders the page report.pdf prints instead of the interactive one."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    js = (TEMPLATES / "report.js").read_text(encoding="utf-8")
    csp = "; ".join(
        [
            "default-src 'none'",
            f"style-src '{_sha256(css)}'",
            f"script-src '{_sha256(js)}'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    context = build_context(report)
    context.update(css=Markup(css), js=Markup(js), csp=csp, problems=list(problems), print=print_view)
    if print_view is not None:  # the id report.pdf prints on every page (pdf.report_id) heads the page too
        context["report_id"] = print_view.report_id
    page = _environment().get_template("report.html.j2").render(context)
    return _compact(page)


def _compact(page: str) -> str:
    """The page without the template's indentation between tags; what is shown verbatim
    (<pre>) or hashed for the CSP (<script>, <style>) is left as it is."""
    parts = _VERBATIM.split(page)
    return "".join(p if i % 2 else _BETWEEN_TAGS.sub(">\n<", p) for i, p in enumerate(parts))


def write_html(
    report: Mapping[str, Any], path: str | Path, *, problems: Sequence[str] = ()
) -> Path:
    """Render `report` to `path` (UTF-8) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # backslashreplace: a lone surrogate in some evidence text must not lose the whole page
    path.write_text(
        render_html(report, problems=problems), encoding="utf-8", errors="backslashreplace"
    )
    return path


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,  # always: the file name ends in .j2, select_autoescape would miss it
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["vclass"] = lambda v: _CSS_CLASS.get(str(v), "v-unknown")
    return env


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()


# -- the view model ----------------------------------------------------------------------


def build_context(report: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the template shows, computed here so the template stays declarative.

    Tolerant of missing keys: a report that failed validation is still rendered.
    """
    cases = _sorted_cases(report)
    anchors = _Anchors()
    case_anchor = _case_anchors(cases, anchors)
    rows = _requirement_rows(
        report, case_anchor, {k: c.get("verdict", "") for k, c in _keyed(cases)}
    )
    req_anchor = {(r["profile"], r["id"]): r["anchor"] for r in rows}
    case_views = [_case_view(c, anchors, case_anchor, req_anchor) for c in cases]
    _allot(case_views)

    suts = [_sut_view(s) for s in _mappings(report.get("suts"))]
    summary = _mapping(report.get("summary"))
    harness = _mapping(report.get("harness"))
    listed = [f for c in case_views for f in c["findings"]]
    return {
        "harness": {
            "name": str(harness.get("name", "wicct")),
            "version": str(harness.get("version", "?")),
            "python": str(harness.get("python", "")),
            "commit": str(harness.get("commit", "")),
            "commit_note": str(harness.get("commit_note", "")),
        },
        **identity_view(report),
        "format": str(report.get("format", "")),
        "started": str(report.get("started", "")),
        "finished": str(report.get("finished", "")),
        "duration": _seconds(report.get("duration_s")),
        "notes": [str(n) for n in _list(report.get("notes"))],
        "suts": suts,
        "insecure": [s for s in suts if s["tls_insecure"]],
        "shortened": [s for s in suts if s["shortened"]],
        "faulty": [s for s in suts if s["faults"]],
        "summary": _summary_view(summary, case_views),
        "outcome": _outcome(c["verdict"] for c in case_views),
        "outcome_detail": _outcome_detail(c["verdict"] for c in case_views),
        "requirements": rows,
        "should_failures": [
            f for f in listed if f["verdict"] == "FAIL" and f["strength"] == "should"
        ],
        "informational": [f for f in listed if f["verdict"] == "INFORMATIONAL"],
        "profiles": _group(case_views),
    }


class _Anchors:
    """HTML ids from (kind, profile, id), unique within the page.

    Never contain "." so the sub-anchors `<case>.f<n>` (finding) and `<case>.e<seq>`
    (evidence entry) cannot collide with another case's anchor.
    """

    def __init__(self) -> None:
        self._used: set[str] = set()

    def new(self, kind: str, *parts: str) -> str:
        base = kind + "-" + "--".join(re.sub(r"[^A-Za-z0-9_-]+", "_", p) or "_" for p in parts)
        anchor, n = base, 1
        while anchor in self._used:
            n += 1
            anchor = f"{base}-{n}"
        self._used.add(anchor)
        return anchor


def _requirement_rows(
    report: Mapping[str, Any],
    case_anchor: Mapping[tuple[str, str], str],
    case_verdict: Mapping[tuple[str, str], str],
) -> list[dict[str, Any]]:
    anchors = _Anchors()
    rows = []
    source = _mappings(report.get("requirements"))
    for row in sorted(source, key=lambda r: str(r.get("profile", ""))):  # stable: keeps id order
        profile, rid = str(row.get("profile", "")), str(row.get("id", ""))
        links = []
        for cid in _list(row.get("cases")):
            key = (profile, str(cid))
            links.append(
                {
                    "id": str(cid),
                    "anchor": case_anchor.get(key),
                    "verdict": case_verdict.get(key, ""),
                }
            )
        rows.append(
            {
                "id": rid,
                "anchor": anchors.new("req", profile, rid),
                "profile": profile,
                "sut_role": str(row.get("sut_role", "")),
                "clause": str(row.get("clause", "")),
                "strength": str(row.get("strength", "")),
                "section": str(row.get("section", "")),
                "verdict": str(row.get("verdict", "")),
                "cases": links,
            }
        )
    return rows


def _case_view(
    case: Mapping[str, Any],
    anchors: _Anchors,
    case_anchor: Mapping[tuple[str, str], str],
    req_anchor: Mapping[tuple[str, str], str],
) -> dict[str, Any]:
    profile, cid = str(case.get("profile", "")), str(case.get("id", ""))
    anchor = case_anchor.get((profile, cid)) or anchors.new("case", profile, cid)
    entries = _mappings(case.get("evidence"))
    seqs = {e.get("seq") for e in entries}
    cited: set[Any] = set()
    findings = []
    for j, finding in enumerate(_mappings(case.get("findings"))):
        cites = [s for s in _list(finding.get("evidence")) if isinstance(s, int)]
        cited.update(cites)
        rid = str(finding.get("requirement", ""))
        findings.append(
            {
                "anchor": f"{anchor}.f{j + 1}",
                "case_id": cid,
                "case_anchor": anchor,
                "profile": profile,
                "requirement": rid,
                "req_anchor": req_anchor.get((profile, rid)),
                "clause": str(finding.get("clause", "")),
                "strength": str(finding.get("strength", "")),
                "verdict": str(finding.get("verdict", "")),
                "reason": str(finding.get("reason", "")),
                "note": str(finding.get("note", "")),
                "evidence": [
                    {"seq": s, "anchor": f"{anchor}.e{s}" if s in seqs else None} for s in cites
                ],
            }
        )
    evidence = [_entry_view(e, anchor, cited) for e in entries]
    return {
        "anchor": anchor,
        "id": cid,
        "title": str(case.get("title", "")),
        "description": str(case.get("description", "")),
        "profile": profile,
        "sut_role": str(case.get("sut_role", "")),
        "verdict": str(case.get("verdict", "")),
        "reason": str(case.get("reason", "")),
        "verifies": [
            {"id": str(r), "anchor": req_anchor.get((profile, str(r)))}
            for r in _list(case.get("verifies"))
        ],
        "clauses": [str(c) for c in _list(case.get("clauses"))],
        "source": str(case.get("source", "")),
        "duration": _seconds(case.get("duration_s")),
        "findings": findings,
        "evidence": evidence,
        "cited_count": sum(1 for e in evidence if e["cited"]),
        **_ladder_view(case, anchor, {
            e["seq"] for i, e in enumerate(evidence) if e["cited"] or i < CASE_ROWS}),
    }


def _ladder_view(case: Mapping[str, Any], anchor: str, shown: set[Any]) -> dict[str, Any]:
    """The case's ladder: full for a case that did not pass, compact (no frame lines, no
    step marks) for a PASS; none when the case has nothing on the wire. `shown`: the
    evidence rows the page keeps (`_allot`'s rule); a rung of another links to the
    "in report.json, entry seq N" text (`ladder_left_out`)."""
    ladder = build_ladder(case, compact=str(case.get("verdict", "")) == "PASS")
    if not ladder.drawable:
        return {"ladder": "", "ladder_windows": 0, "ladder_left_out": []}
    return {
        "ladder": render_svg(ladder, anchor, shown),
        "ladder_windows": len(ladder.windows),
        "ladder_left_out": left_out_seqs(ladder, shown),
    }


def _entry_view(entry: Mapping[str, Any], case_anchor: str, cited: set[Any]) -> dict[str, Any]:
    seq = entry.get("seq")
    t = entry.get("t")
    return {
        "seq": seq,
        "anchor": f"{case_anchor}.e{seq}",
        "t": f"{t:.3f}" if isinstance(t, int | float) else str(t or ""),
        "actor": str(entry.get("actor", "")),
        "conn": str(entry.get("conn", "")),
        "direction": str(entry.get("direction", "")),
        "kind": str(entry.get("kind", "")),
        "summary": _visible(str(entry.get("summary", ""))),
        "cited": seq in cited,
        "data": entry.get("data"),  # made into "blocks" by `_allot`
    }


def _allot(case_views: list[dict[str, Any]]) -> None:
    """Choose the evidence rows and data blocks the page shows (see `CASE_ROWS`)."""
    passed = ("PASS", "NOT-APPLICABLE", "INFORMATIONAL")
    order = sorted(case_views, key=lambda v: v["verdict"] in passed)  # stable: case order
    for view in order:
        rows = view["evidence"]
        kept = [r for i, r in enumerate(rows) if r["cited"] or i < CASE_ROWS]
        view["evidence"], view["rows_omitted"], view["data_omitted"] = kept, len(rows) - len(kept), 0
    left = PAGE_DATA
    for cited in (True, False):  # the data findings cite first, in every case
        for view in order:
            for row in view["evidence"]:
                if row["cited"] is not cited:
                    continue
                blocks = data_blocks(row.pop("data"))
                size = sum(len(b["text"]) for b in blocks)
                row["blocks"] = blocks if size <= left else []
                left -= size if size <= left else 0
                view["data_omitted"] += bool(blocks and not row["blocks"])


def _sut_view(sut: Mapping[str, Any]) -> dict[str, Any]:
    details = sut.get("details")
    return {
        "profile": str(sut.get("profile", "")),
        "role": str(sut.get("role", "")),
        "name": str(sut.get("name", "")),
        "driver": str(sut.get("driver", "")),
        "faults": [str(f) for f in _list(sut.get("faults"))],
        "tls_insecure": sut.get("tls_insecure") is True,
        "details": _json(details) if details else "",
        "shortened": [
            f"{name.replace('_', ' ')} {float(w.get('seconds', 0)):g} s "
            f"(certification default {float(w.get('certification_default', 0)):g} s)"
            for name, w in _windows(details)
        ],
        "warnings": [str(w) for w in _list(sut.get("warnings"))],
        "implementation": _implementation(sut.get("implementation")),
        "pics": [str(f) for f in _list(sut.get("pics"))],
        "pixit": _json(sut["pixit"]) if isinstance(sut.get("pixit"), Mapping) else "",
        "conformance": _conformance_view(sut.get("conformance")),
    }


# -- identity, scope and conformance (ISO/IEC 9646-5 PCTR; ISO/IEC 17025 §7.8) -----------


def identity_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report's identity, its case set and selection, the lab block and the ids not
    tested, for the page's header and its "Scope" section."""
    ident = _mapping(report.get("report"))
    suite = _mapping(report.get("suite"))
    lab = _mapping(report.get("lab"))
    reasons: dict[str, list[dict[str, str]]] = {}
    for row in _mappings(report.get("not_tested")):
        reasons.setdefault(str(row.get("reason", "")), []).append(
            {
                "id": str(row.get("id", "")),
                "profile": str(row.get("profile", "")) or "(none)",
                "detail": str(row.get("detail", "")),
            }
        )
    return {
        "report_id": str(ident.get("id", "")) or "(no report id)",
        "issuer": str(ident.get("issuer", "")),
        "issued": str(ident.get("issued", "")),
        "statement": str(ident.get("statement", "")),
        "references": [
            {"cited_as": str(r.get("cited_as", "")), "title": str(r.get("title", ""))}
            for r in _mappings(ident.get("references"))
        ],
        "suite": {
            "hash": str(suite.get("hash", "")) or str(suite.get("hash_note", "")),
            "cases": suite.get("cases", ""),
            "select": "" if suite.get("select") is None else str(suite.get("select")),
        },
        "lab": {
            "name": str(_mapping(lab.get("lab")).get("name", "")),
            "address": str(_mapping(lab.get("lab")).get("address", "")),
            "accreditation": str(_mapping(lab.get("lab")).get("accreditation", "")),
            "customer": _person(lab.get("customer")),
            "authoriser": _person(lab.get("authoriser")),
            "scope": str(lab.get("scope", "")),
            "title": str(lab.get("report_title", "")),
        } if lab else None,
        "not_tested": [
            {"reason": reason, "rows": reasons[reason]}
            for reason in ("not-selected", "no-case", "not-applicable")
            if reason in reasons
        ],
        "not_tested_count": sum(len(v) for v in reasons.values()),
    }


def _person(value: Any) -> str:
    fields = _mapping(value)
    return ", ".join(str(fields[k]) for k in fields if fields[k])


def _implementation(value: Any) -> str:
    """"vendor product version" (+ components), or "" when the profile states none; the
    version the running binary states when it is not the profile's (plugin.version_notes)."""
    impl = _mapping(value)
    if not impl:
        return ""

    def one(part: Mapping[str, Any]) -> str:
        text = " ".join(str(part[k]) for k in ("vendor", "product", "version") if part.get(k))
        read = part.get("read_version")
        return text + (f" (the running binary reads {read})" if read and read != part.get("version") else "")

    parts = [one(c) for c in _mappings(impl.get("components"))]
    return one(impl) + (f" with {'; '.join(parts)}" if parts else "")


_STATUS_CLASS = {
    "non-conforming": "FAIL",
    "undetermined": "INCONCLUSIVE",
    "conforming with should-level failures": "FAIL",
    "conforming": "PASS",
}


def _conformance_view(value: Any) -> dict[str, Any] | None:
    conf = _mapping(value)
    if not conf:
        return None
    status = str(conf.get("status", ""))
    return {
        "status": status,
        "verdict": _STATUS_CLASS.get(status, ""),
        "tested": conf.get("requirements_tested", 0),
        "passed": conf.get("requirements_passed", 0),
        "shall_failures": [str(i) for i in _list(conf.get("shall_failures"))],
        "should_failures": [str(i) for i in _list(conf.get("should_failures"))],
        "undecided": [str(i) for i in _list(conf.get("undecided"))],
    }


def case_anchors(report: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(profile, case id) → the case's anchor in report.html, as `build_context` makes
    them (the matrix links to them)."""
    return _case_anchors(_sorted_cases(report), _Anchors())


def _sorted_cases(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return sorted(
        _mappings(report.get("cases")),
        key=lambda c: (str(c.get("profile", "")), str(c.get("id", ""))),
    )


def _case_anchors(
    cases: list[Mapping[str, Any]], anchors: _Anchors
) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for case in cases:
        key = (str(case.get("profile", "")), str(case.get("id", "")))
        out.setdefault(key, anchors.new("case", *key))
    return out


def _windows(details: Any) -> list[tuple[str, Mapping[str, Any]]]:
    """The profile's shortened windows from a SUT's details, if any."""
    if not isinstance(details, Mapping):
        return []
    windows = details.get("shortened_windows")
    if not isinstance(windows, Mapping):
        return []
    return [(str(k), v) for k, v in windows.items() if isinstance(v, Mapping)]


def _summary_view(summary: Mapping[str, Any], cases: list[dict[str, Any]]) -> dict[str, Any]:
    total = summary.get("cases", len(cases))
    return {
        "cases": total,
        "tiles": [{"verdict": v, "count": summary.get(v, 0)} for v in VERDICT_ORDER],
        "informational_findings": summary.get("informational_findings", 0),
        "should_failures": summary.get("should_failures", 0),
    }


def _outcome(verdicts: Iterable[str]) -> str:
    """The run in one word: the worst case verdict (an empty run is INCONCLUSIVE)."""
    items = [v for v in verdicts if v in _SEVERITY]
    return max(items, key=_SEVERITY.__getitem__) if items else "INCONCLUSIVE"


def _outcome_detail(verdicts: Iterable[str]) -> str:
    counts = Counter(verdicts)
    parts = [f"{counts[v]} {v}" for v in ("FAIL", "ERROR", "INCONCLUSIVE") if counts[v]]
    return " · ".join(parts) if parts else f"{counts['PASS']} PASS"


def _group(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for case in cases:
        group = groups.setdefault(
            case["profile"], {"profile": case["profile"], "sut_role": case["sut_role"], "cases": []}
        )
        group["cases"].append(case)
    return list(groups.values())


# -- evidence data -----------------------------------------------------------------------


def data_blocks(data: Any) -> list[dict[str, str]]:
    """The `data` of one entry as labelled text blocks for <pre>.

    Scalars go together in one "fields" block (JSON); raw SIP/HTTP text and payloads each
    get their own block, bytes ({"hex": ...}) a hex dump, header lists "Name: value" lines.
    """
    if not isinstance(data, Mapping):
        return [] if data in (None, "", [], {}) else [_block("data", _json(data))]
    fields: dict[str, Any] = {}
    blocks: list[dict[str, str]] = []
    for key, value in data.items():
        key = str(key)
        if isinstance(value, str) and (key in _TEXT_KEYS or "\n" in value or len(value) > 160):
            blocks.append(_text_block(key, value))
        elif _is_hex(value):
            blocks.append(_hex_block(key, value["hex"]))
        elif key == "headers" and _is_pairs(value):
            lines = "\n".join(f"{n}: {v}" for n, v in value)
            blocks.append(_block(f"{key} ({len(value)})", _visible(lines)))
        else:
            fields[key] = value
    if fields:
        shown = [f"{k}: {_scalar(v)}" for k, v in fields.items()]
        blocks.insert(0, _block("fields", _visible("\n".join(shown))))
    return blocks


def _block(label: str, text: str) -> dict[str, str]:
    return {"label": label, "text": text}


def _text_block(key: str, value: str) -> dict[str, str]:
    ends = _line_ends(value)
    label = f"{key} · {len(value)} chars" + (f" · {ends} line ends" if ends else "")
    shown = value[:_MAX_TEXT]
    text = _visible(shown)
    if len(value) > _MAX_TEXT:
        text += f"\n… {len(value) - _MAX_TEXT} more characters in report.json"
    return _block(label, text)


def _hex_block(key: str, digits: str) -> dict[str, str]:
    try:
        raw = bytes.fromhex(digits)
    except ValueError:
        return _block(f"{key} (hex, not decodable)", _visible(digits))
    text = hexdump(raw[:_MAX_HEX])
    if len(raw) > _MAX_HEX:
        text += f"\n… {len(raw) - _MAX_HEX} more bytes in report.json"
    return _block(f"{key} · {len(raw)} bytes, not UTF-8", text)


def hexdump(raw: bytes, width: int = 16) -> str:
    """Offset, hex bytes and printable ASCII, `width` bytes a line."""
    lines = []
    for offset in range(0, len(raw), width):
        chunk = raw[offset : offset + width]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        ascii_ = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{offset:08x}  {hexes:<{width * 3 - 1}}  |{ascii_}|")
    return "\n".join(lines)


def _line_ends(text: str) -> str:
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    if not crlf and not lf:
        return ""
    if crlf and lf:
        return f"mixed ({crlf} CRLF, {lf} bare LF)"
    return "CRLF" if crlf else "LF"


def _visible(text: str) -> str:
    """Make control characters visible (\\x00, bare CR...); CRLF, LF and tab stay as they are."""
    return _CONTROL.sub(lambda m: "\\r" if m.group() == "\r" else f"\\x{ord(m.group()):02x}", text)


def _is_hex(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"hex"} and isinstance(value["hex"], str)


def _is_pairs(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(x, str) for x in p)
        for p in value
    )


# -- small helpers -----------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in _list(value) if isinstance(v, Mapping)]


def _keyed(cases: list[Mapping[str, Any]]) -> list[tuple[tuple[str, str], Mapping[str, Any]]]:
    return [((str(c.get("profile", "")), str(c.get("id", ""))), c) for c in cases]


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=repr)


def _scalar(value: Any) -> str:
    """A field value on one line: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=repr)


def _seconds(value: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    return f"{value:.3f} s" if value < 60 else f"{value // 60:.0f} min {value % 60:.0f} s"
