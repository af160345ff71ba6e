"""Ladder diagrams: one case's wire evidence as a static, WebSocket-aware SVG (issue 10, item 6).

A ladder is read from the case as report.json holds it (docs/architecture.md principle 5),
never from live objects, in two pure steps:

- `build_ladder(case)` lays the evidence out as lanes (the SUT and each wicct actor facing
  it: WIC emulator, eP-CSCF emulator, IMS-core stub) and rungs, in timeline order: the TCP
  connect, TLS and the HTTP upgrade (RFC 6455 §4) first, then each SIP message as an arrow
  labelled with its method or status (RFC 3261 §7.1, §7.2) with the WebSocket frames that
  carried it under it (opcode, FIN, MASK, RSV, fragments: RFC 6455 §5.2, §5.4; RFC 7118 §5),
  control frames (Ping, Pong, Close: §5.5) as their own arrows, a long run of them collapsed
  into one labelled rung, and the closing of each connection (§7.1). Entries a FAIL finding
  cites are marked, and for a SIP or HTTP message the header the finding's reason names is
  shown under its arrow. The windows a case watched (`mandated_wait` notes: keep-alive and
  silence windows), and the timers a finding's reason names ("no Pong within 1 s": the
  `timer` note the finding cites, running from the entry it names as `since`), are drawn
  to scale on a time strip under the ladder, with every frame's moment as a tick.
- `render_svg(ladder, anchor)` draws it with a handful of SVG primitives (lines, paths,
  text, rects), no script and no external resource, styled by report.css. Every rung links
  to its evidence entry (`<anchor>.e<seq>`, the raw bytes in the case's wire table); one
  whose entry the bounded page leaves out (`shown`) links to a short "in report.json, entry
  seq N" text instead (`<anchor>.lo<seq>`, `left_out_seqs`).

Evidence is attacker-controlled text: every string from the report reaches the SVG through
`markupsafe` (`Markup.format` escapes its arguments), so the result is safe to inline.
`compact=True` (used for PASS cases) leaves out frame details and step marks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup

# Lane order, left to right: the WIC side, the eP-CSCF, the IMS core, the token issuer.
_RANK = {"wic": 0, "epcscf": 1, "core": 2, "issuer": 3}
_NAMES = {"wic": "WIC", "epcscf": "eP-CSCF", "core": "IMS core", "issuer": "token issuer"}
_EMULATED = {"wic": "wicct WIC", "epcscf": "wicct eP-CSCF", "core": "wicct core stub"}
_DATA_OPCODES = frozenset({"text", "binary", "continuation", "1", "2", "0"})
_CONTROL_OPCODES = frozenset({"ping", "pong", "9", "10"})
_ARROW_KINDS = frozenset(
    {"connect", "http.request", "http.response", "sip", "ws.frame", "ws.message", "stimulus",
     "sip.error", "note"}
)
_SPAN_KINDS = frozenset({"tls", "ws.close", "ws.error"})
_COMMON_WORDS = frozenset({"to", "from", "date", "path", "event", "allow", "require", "server"})
_HEADER_WORD_AFTER = r"(?=:| header|-tag| tag| URI|'|`)"
COLLAPSE_AT = 5  # a run of this many uncited control-frame rungs becomes one rung
GAP_S = 0.5  # a pause this long between two rungs is drawn as a break with its length
_MAX_RUNGS = 400  # beyond this a ladder says how many rungs it leaves out


@dataclass(frozen=True)
class Lane:
    key: str
    label: str
    sut: bool


@dataclass(frozen=True)
class Rung:
    """One row: an arrow (`src` → `dst`), a span between two lanes, or a mark across all."""

    shape: str  # "arrow" | "span" | "mark" | "gap"
    label: str
    seq: int | None = None  # the evidence entry the rung links to
    src: str = ""
    dst: str = ""
    t: float | None = None
    conn: str = ""
    details: tuple[str, ...] = ()
    tone: str = ""  # "fail" (cited by a FAIL finding), "cited", "" otherwise
    seqs: tuple[int, ...] = ()  # every entry the rung stands for


@dataclass(frozen=True)
class Window:
    """A window the case watched, [start, end] seconds on the case's clock."""

    start: float
    end: float
    label: str
    seq: int | None


@dataclass(frozen=True)
class Tick:
    t: float
    tone: str  # "data", "control", "close", "fail"


@dataclass(frozen=True)
class Ladder:
    lanes: tuple[Lane, ...]
    rungs: tuple[Rung, ...]
    windows: tuple[Window, ...] = ()
    ticks: tuple[Tick, ...] = ()
    duration: float = 0.0
    left_out: int = 0
    compact: bool = False

    @property
    def drawable(self) -> bool:
        """Whether there is anything on the wire to draw (an arrow or a span)."""
        return any(r.shape in ("arrow", "span") for r in self.rungs)


# -- the model ---------------------------------------------------------------------------


def build_ladder(case: Mapping[str, Any], *, compact: bool = False) -> Ladder:
    """The ladder of `case` (a case dict of report.json); tolerant of missing or odd keys."""
    entries = [e for e in _list(case.get("evidence")) if isinstance(e, Mapping)]
    sut = str(case.get("sut_role", "")) or "epcscf"
    tones, reasons = _tones(case)
    by_seq = {e.get("seq"): e for e in entries if isinstance(e.get("seq"), int)}
    timers = _timers(case, by_seq)
    claimed = _claimed_frames(entries, by_seq)
    owned: dict[int, list[int]] = {}
    for part, owner in sorted(claimed.items()):
        owned.setdefault(owner, []).append(part)
    lanes = _lanes(entries, sut)
    lane_keys = {lane.key for lane in lanes}

    rungs: list[Rung] = []
    windows: list[Window] = []
    ticks: list[Tick] = []
    for entry in entries:
        seq = entry.get("seq") if isinstance(entry.get("seq"), int) else None
        kind = str(entry.get("kind", ""))
        data = _mapping(entry.get("data"))
        t = _float(entry.get("t"))
        tone = tones.get(seq, "") if seq is not None else ""
        if kind == "ws.frame" and t is not None:
            ticks.append(Tick(t, "fail" if tone == "fail" else _frame_class(data)))
        if kind == "note" and isinstance(data.get("mandated_wait"), int | float) and t is not None:
            wait = float(data["mandated_wait"])
            windows.append(Window(max(0.0, t - wait), t, _one_line(entry.get("summary"), 70), seq))
        if seq in timers and t is not None:  # a timer a finding's reason names, cited by it
            length = timers[seq]
            since = _float(by_seq.get(data.get("since"), {}).get("t"))
            start = since if since is not None and since <= t else max(0.0, t - length)
            windows.append(Window(start, start + length, _one_line(entry.get("summary"), 70), seq))
            continue  # drawn on the time strip, not as a rung
        if seq in claimed:
            continue
        parts = [by_seq[p] for p in owned.get(seq or 0, []) if p in by_seq]
        rung = _rung(entry, sut, lane_keys, parts, tones, reasons.get(seq or 0, []), compact)
        if rung is not None:
            rungs.append(rung)
    rungs = _with_gaps(_collapse(rungs))
    used = {r.src for r in rungs} | {r.dst for r in rungs} | {sut}
    lanes = [lane for lane in lanes if lane.key in used]
    ws_conns = {r.conn for r in rungs if r.shape == "arrow" and "core" not in (r.src, r.dst)}
    if len(ws_conns) < 2:  # one WebSocket connection: no connection labels
        rungs = [replace(r, conn="") for r in rungs]
    left_out = max(0, len(rungs) - _MAX_RUNGS)
    times = [t for e in entries if (t := _float(e.get("t"))) is not None]
    return Ladder(
        lanes=tuple(lanes),
        rungs=tuple(rungs[:_MAX_RUNGS]),
        windows=tuple(windows),
        ticks=tuple(ticks),
        duration=max(times, default=0.0),
        left_out=left_out,
        compact=compact,
    )


def _timers(case: Mapping[str, Any], by_seq: Mapping[Any, Mapping[str, Any]]) -> dict[int, float]:
    """Seq → seconds of each `timer` note a non-PASS finding cites: the window its reason
    names, as the step recorded it (never read from the reason's prose)."""
    found: dict[int, float] = {}
    for finding in _list(case.get("findings")):
        if not isinstance(finding, Mapping) or finding.get("verdict") == "PASS":
            continue
        for seq in _list(finding.get("evidence")):
            entry = by_seq.get(seq) if isinstance(seq, int) else None
            length = _mapping(entry.get("data")).get("timer") if entry and entry.get("kind") == "note" else None
            if isinstance(seq, int) and isinstance(length, int | float) and not isinstance(length, bool) and length > 0:
                found[seq] = float(length)
    return found


def _tones(case: Mapping[str, Any]) -> tuple[dict[int, str], dict[int, list[str]]]:
    """Entry seq → "fail" when a FAIL finding cites it, "cited" when another finding does;
    and seq → the reasons of the FAIL findings citing it."""
    tones: dict[int, str] = {}
    reasons: dict[int, list[str]] = {}
    for finding in _list(case.get("findings")):
        if not isinstance(finding, Mapping):
            continue
        tone = "fail" if finding.get("verdict") == "FAIL" else "cited"
        for seq in _list(finding.get("evidence")):
            if isinstance(seq, int) and tones.get(seq) != "fail":
                tones[seq] = tone
            if isinstance(seq, int) and tone == "fail":
                reasons.setdefault(seq, []).append(str(finding.get("reason", "")))
    return tones, reasons


def _lanes(entries: Sequence[Mapping[str, Any]], sut: str) -> list[Lane]:
    actors = {str(e.get("actor", "")) for e in entries}
    keys = {a for a in actors if a in _RANK and a != sut} | {sut}
    if sut == "epcscf":
        keys.add("wic")  # an eP-CSCF always stands between a WIC and the core
    ordered = sorted(keys, key=lambda k: _RANK.get(k, 9))
    return [
        Lane(k, f"{_NAMES.get(k, k)} (SUT)" if k == sut else _EMULATED.get(k, _NAMES.get(k, k)), k == sut)
        for k in ordered
    ]


def _claimed_frames(
    entries: Sequence[Mapping[str, Any]], by_seq: Mapping[Any, Mapping[str, Any]]
) -> dict[int, int]:
    """Frame and message entries drawn under a SIP message (or a stimulus): seq → owner seq.

    Received: the SIP entry names its `ws_message`, whose `frames` are listed. Sent: the data
    frames that follow the SIP entry on its actor and connection, up to the one with FIN.
    """
    claimed: dict[int, int] = {}
    for i, entry in enumerate(entries):
        seq, kind, data = entry.get("seq"), entry.get("kind"), _mapping(entry.get("data"))
        if not isinstance(seq, int) or kind not in ("sip", "stimulus", "ws.message"):
            continue
        message = by_seq.get(data.get("ws_message")) if kind == "sip" else None
        if kind == "ws.message":
            message = entry
        if message is not None:
            mseq = message.get("seq")
            if isinstance(mseq, int) and mseq != seq:
                claimed[mseq] = seq
            for f in _list(_mapping(message.get("data")).get("frames")):
                if isinstance(f, int) and f != seq:
                    claimed.setdefault(f, seq)
            continue
        if entry.get("direction") != "tx" or kind == "ws.message":
            continue
        actor, conn = entry.get("actor"), entry.get("conn")
        for later in entries[i + 1 :]:
            if later.get("actor") != actor or later.get("conn") != conn:
                continue
            ldata = _mapping(later.get("data"))
            if later.get("kind") != "ws.frame" or str(ldata.get("opcode")) not in _DATA_OPCODES:
                break
            lseq = later.get("seq")
            if isinstance(lseq, int):
                claimed[lseq] = seq
            if ldata.get("fin") is not False:
                break
    # a SIP entry's frames claimed through its ws.message belong to the SIP entry
    for mseq, owner in list(claimed.items()):
        top = claimed.get(owner)
        if top is not None:
            claimed[mseq] = top
    return claimed


def _rung(
    entry: Mapping[str, Any],
    sut: str,
    lanes: set[str],
    parts: Sequence[Mapping[str, Any]],
    tones: Mapping[int, str],
    reasons: Sequence[str],
    compact: bool,
) -> Rung | None:
    seq = entry.get("seq") if isinstance(entry.get("seq"), int) else None
    kind = str(entry.get("kind", ""))
    actor = str(entry.get("actor", ""))
    direction = str(entry.get("direction", ""))
    data = _mapping(entry.get("data"))
    tone = tones.get(seq, "") if seq is not None else ""
    base = Rung("mark", "", seq=seq, t=_float(entry.get("t")), conn=str(entry.get("conn", "")),
                tone=tone, seqs=(seq,) if seq is not None else ())
    facing = actor in lanes and actor != sut
    if facing and direction in ("tx", "rx") and kind in _ARROW_KINDS:
        src, dst = (actor, sut) if direction == "tx" else (sut, actor)
        details: tuple[str, ...] = () if compact and not tone else tuple(_details(parts, tones))
        if kind == "ws.frame" and str(data.get("opcode")) not in _DATA_OPCODES:
            details = ()  # a control frame's label says it all
        if tone == "fail" and kind in ("sip", "http.request", "http.response"):
            hint = _failing_header(entry, reasons)
            details += (f"✗ {hint}",) if hint else ()
        seqs = (*base.seqs, *(_int(p.get("seq")) for p in parts))
        worst = "fail" if any(tones.get(s) == "fail" for s in seqs) else tone
        return replace(base, shape="arrow", label=_label(entry), src=src, dst=dst,
                       details=details, tone=worst, seqs=seqs)
    if facing and kind in _SPAN_KINDS:
        failed = bool(data.get("error")) or (kind == "ws.close" and data.get("clean") is False)
        return replace(base, shape="span", label=_label(entry), src=actor, dst=sut,
                       tone=tone or ("warn" if failed else ""))
    if kind == "note" and isinstance(data.get("step"), str) and not compact:
        return replace(base, label=_one_line(entry.get("summary"), 90))
    if kind == "note" and isinstance(data.get("mandated_wait"), int | float):
        return replace(base, label=_one_line(entry.get("summary"), 90))
    if tone in ("fail", "cited"):  # anything a finding cites is shown, whatever its kind
        return replace(base, label=f"{kind}: {_one_line(entry.get('summary'), 80)}")
    return None


def _label(entry: Mapping[str, Any]) -> str:
    kind = str(entry.get("kind", ""))
    data = _mapping(entry.get("data"))
    summary = _one_line(entry.get("summary"), 80)
    if kind == "connect":
        error = data.get("error")
        return f"TCP connect failed: {_one_line(error, 50)}" if error else "TCP connect"
    if kind == "tls":
        if data.get("error"):
            return f"TLS failed: {_one_line(data.get('error'), 60)}"
        version, cipher = data.get("version"), data.get("cipher")
        return " ".join(str(x) for x in (version, cipher) if x) if version else summary
    if kind == "http.request":
        method, path = data.get("method"), data.get("path")
        return f"{method} {path} (upgrade)" if method else summary
    if kind == "http.response":
        status = data.get("status")
        return f"HTTP {status} {data.get('reason') or ''}".strip() if status else summary
    if kind == "sip":
        line = data.get("start_line")
        if isinstance(line, str) and line:
            cseq = data.get("cseq")
            if line.startswith("SIP/2.0 "):
                method = str(cseq).split()[-1] if isinstance(cseq, str) and cseq.split() else ""
                return _one_line(line[8:] + (f" ({method})" if method else ""), 60)
            return _one_line(line.removesuffix(" SIP/2.0"), 60)
        return _strip_direction(summary)
    if kind == "ws.frame":
        return "frame " + _frame_text(data)
    if kind == "ws.close":  # RFC 6455 §7.1: who started closing, the codes, both Close frames seen
        if "by" not in data:
            return summary
        codes = f"{data.get('code', '-')}/{data.get('sent_code', '-')}".replace("None", "-")  # rcvd/sent
        state = "clean" if data.get("clean") else "not clean"
        return f"closed by {data.get('by')} · {codes} · {state}"
    return _strip_direction(summary)


def _details(parts: Sequence[Mapping[str, Any]], tones: Mapping[int, str]) -> list[str]:
    """The frames that carried a message, one line (first, last and a count beyond three)."""
    frames = [f for f in parts if f.get("kind") == "ws.frame"]
    if not frames:
        return []
    texts = [
        ("✗ " if tones.get(_int(f.get("seq"))) == "fail" else "") + _frame_text(_mapping(f.get("data")))
        for f in frames
    ]
    if len(texts) > 3:
        texts = [texts[0], f"… {len(texts) - 2} more", texts[-1]]
    prefix = f"{len(frames)} frames: " if len(frames) > 1 else "frame: "
    return [prefix + " | ".join(texts)]


def _frame_text(data: Mapping[str, Any]) -> str:
    """`text 528B FIN MASK`: opcode, length and the header bits that are set (RFC 6455 §5.2)."""
    opcode = str(data.get("opcode", "?"))
    parts = [{"1": "text", "2": "binary", "0": "continuation", "9": "ping", "10": "pong",
              "8": "close"}.get(opcode, opcode)]
    length = data.get("length")
    if isinstance(length, int):
        parts.append(f"{length}B")
    if parts[0] == "close" and data.get("code") is not None:
        parts.append(str(data.get("code")))
    if data.get("fin") is True:
        parts.append("FIN")
    elif data.get("fin") is False:
        parts.append("no FIN")
    if data.get("masked") is True:
        parts.append("MASK")
    parts += [bit.upper() for bit in ("rsv1", "rsv2", "rsv3") if data.get(bit) is True]
    return " ".join(parts)


def _frame_class(data: Mapping[str, Any]) -> str:
    opcode = str(data.get("opcode", ""))
    if opcode in _CONTROL_OPCODES:
        return "control"
    return "close" if opcode in ("close", "8") else "data"


def _failing_header(entry: Mapping[str, Any], reasons: Sequence[str]) -> str:
    """The header line a FAIL finding's reason names, from the message's own text."""
    data = _mapping(entry.get("data"))
    raw = data.get("raw")
    if not isinstance(raw, str) or not reasons:
        return ""
    headers = [line for line in raw.split("\r\n")[1:] if ":" in line][:60]
    said = " ".join(reasons)
    for line in headers:
        name = line.split(":", 1)[0].strip()
        # as the reason writes it (`Via`, `Contact`); a name that is also a common word
        # (`To`, `From`) only when the reason calls it a header or quotes it
        after = _HEADER_WORD_AFTER if name.lower() in _COMMON_WORDS else r"(?![\w-])"
        if name and re.search(rf"(?<![\w-]){re.escape(name)}{after}", said):
            return _one_line(line, 70)
    return ""


def _collapse(rungs: list[Rung]) -> list[Rung]:
    """Runs of uncited control-frame arrows on one connection become one labelled rung."""
    out: list[Rung] = []
    run: list[Rung] = []

    def flush() -> None:
        if len(run) >= COLLAPSE_AT:
            counts: dict[str, int] = {}
            for r in run:
                word = r.label.removeprefix("frame ").split(" ")[0]
                arrow = "→" if _RANK.get(r.src, 0) < _RANK.get(r.dst, 0) else "←"
                counts[f"{word} {arrow}"] = counts.get(f"{word} {arrow}", 0) + 1
            first, last = run[0], run[-1]
            span = (last.t or 0.0) - (first.t or 0.0)
            what = ", ".join(f"{n} {w}" for w, n in counts.items())
            out.append(
                Rung("span", f"{len(run)} control frames: {what} over {span:.2f} s",
                     seq=first.seq, src=first.src, dst=first.dst, t=first.t, conn=first.conn,
                     seqs=tuple(s for r in run for s in r.seqs))
            )
        else:
            out.extend(run)
        run.clear()

    for rung in rungs:
        control = (
            rung.shape == "arrow" and not rung.tone and rung.label.startswith("frame ")
            and rung.label.split(" ")[1] in ("ping", "pong", "9", "10")
        )
        if control and (not run or run[-1].conn == rung.conn):
            run.append(rung)
            continue
        flush()
        if control:
            run.append(rung)
        else:
            out.append(rung)
    flush()
    return out


def _with_gaps(rungs: list[Rung]) -> list[Rung]:
    out: list[Rung] = []
    last: float | None = None
    for rung in rungs:
        if rung.t is not None and last is not None and rung.t - last >= GAP_S:
            out.append(Rung("gap", f"{rung.t - last:.2f} s later", t=last))
        if rung.t is not None:
            last = rung.t
        out.append(rung)
    return out


# -- drawing -----------------------------------------------------------------------------

_LEFT = 92  # the seq/time column
_LANE_W = 230
_TOP = 34
_ROW = 30
_ROW_COMPACT = 20
_DETAIL = 12  # the extra height of each detail line
_STRIP = 46  # the time strip's height
_CHAR = 6.1  # px per character at the labels' font size


def left_out_seqs(ladder: Ladder, shown: Set[int] | None) -> list[int]:
    """The entries the ladder links to that the page does not show (`shown`: those it does)."""
    if shown is None or ladder.compact:
        return []
    linked = {r.seq for r in ladder.rungs} | {w.seq for w in ladder.windows}
    return sorted(s for s in linked if s is not None and s not in shown)


def render_svg(ladder: Ladder, anchor: str, shown: Set[int] | None = None) -> Markup:
    """The ladder as inline SVG; every rung links to `<anchor>.e<seq>`, or, when its entry
    is not among the `shown` ones, to `<anchor>.lo<seq>` (the page's "in report.json" text)."""
    xs = {lane.key: _LEFT + 60 + i * _LANE_W for i, lane in enumerate(ladder.lanes)}
    width = _LEFT + 120 + max(0, len(ladder.lanes) - 1) * _LANE_W
    row = _ROW_COMPACT if ladder.compact else _ROW
    parts: list[Markup] = []
    y = _TOP + 8
    for rung in ladder.rungs:
        height = row + _DETAIL * len(rung.details)
        if rung.shape == "gap":
            height = 16
        # a compact ladder (a PASS case) links nowhere: its wire table is right below it
        parts.append(_draw(rung, xs, y, width, "" if ladder.compact else anchor, ladder.compact, shown))
        y += height
    if ladder.left_out:
        parts.append(Markup('<text class="lm" x="{}" y="{}">… {} more rungs in the wire table</text>')
                     .format(_LEFT, y + 4, ladder.left_out))
        y += 16
    bottom = y
    heads = [
        Markup('<text class="ln{}" x="{}" y="14">{}</text>').format(
            " sut" if lane.sut else "", xs[lane.key], lane.label)
        for lane in ladder.lanes
    ]
    lines = [
        Markup('<path class="ll{}" d="M{} 22V{}"/>').format(" sut" if lane.sut else "", xs[lane.key], bottom)
        for lane in ladder.lanes
    ]
    strip: list[Markup] = []
    if ladder.windows:
        strip = _strip(ladder, bottom + 10, width, "" if ladder.compact else anchor, shown)
        bottom += _STRIP + 10
    head = Markup(
        '<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        'viewBox="0 0 {w} {h}" role="img" aria-label="ladder diagram">'
    ).format(w=width, h=bottom + 6)
    return Markup("").join([head, *lines, *heads, *parts, *strip, Markup("</svg>")])


def _draw(rung: Rung, xs: Mapping[str, int], y: int, width: int, anchor: str, compact: bool,
          shown: Set[int] | None = None) -> Markup:
    cls = " ".join(c for c in (rung.shape, rung.tone) if c)
    left = Markup("")
    if rung.seq is not None and not compact:
        stamp = f"#{rung.seq}" + (f" {rung.t:.3f}" if rung.t is not None else "")
        left = Markup('<text class="lt" x="4" y="{}">{}</text>').format(y, stamp)
    if rung.shape == "gap":
        body = Markup('<text class="lg" x="{}" y="{}">⋮ {}</text>').format(_LEFT, y + 2, rung.label)
        return Markup('<g class="gap">{}</g>').format(body)
    if rung.shape == "mark":
        body = Markup('<path d="M{} {}H{}"/><text x="{}" y="{}">{}</text>').format(
            _LEFT, y + 4, width - 4, _LEFT + 2, y, _fit(rung.label, (width - _LEFT) / _CHAR))
        return _link(rung, anchor, Markup('<g class="{}">{}{}</g>').format(cls, left, body), shown)
    x1, x2 = xs.get(rung.src, _LEFT), xs.get(rung.dst, _LEFT)
    lo, hi = min(x1, x2), max(x1, x2)
    room = max(hi - lo, 150) / _CHAR
    mid = (x1 + x2) // 2
    conn = Markup('<text class="lc" x="{}" y="{}">{}</text>').format(lo + 3, y + 12, rung.conn) if rung.conn and rung.shape == "arrow" else Markup("")
    if rung.shape == "span":
        body = Markup('<rect x="{}" y="{}" width="{}" height="8" rx="3"/>'
                      '<text x="{}" y="{}">{}</text>').format(
            lo, y + 1, hi - lo, mid, y - 2, _fit(rung.label, room))
    else:
        sign = 1 if x2 > x1 else -1
        body = Markup('<path d="M{} {}H{}m{} -4 {} 4 {} 4"/>'
                      '<text x="{}" y="{}">{}</text>').format(
            x1, y + 3, x2, -7 * sign, 7 * sign, -7 * sign, mid, y - 1, _fit(rung.label, room))
    details = Markup("").join(
        Markup('<text class="d" x="{}" y="{}">{}</text>').format(
            mid, y + 15 + i * _DETAIL, _fit(d, 2 * min(mid - _LEFT, width - mid) / 6.0))
        for i, d in enumerate(rung.details)
    )
    return _link(rung, anchor, Markup('<g class="{}">{}{}{}{}</g>').format(cls, left, conn, body, details),
                 shown)


def _link(rung: Rung, anchor: str, body: Markup, shown: Set[int] | None = None) -> Markup:
    if rung.seq is None or not anchor:
        return body
    if shown is not None and rung.seq not in shown:
        return Markup('<a href="#{}.lo{}"><title>in report.json, entry seq {}</title>{}</a>').format(
            anchor, rung.seq, rung.seq, body)
    return Markup('<a href="#{}.e{}">{}</a>').format(anchor, rung.seq, body)


def _strip(ladder: Ladder, top: int, width: int, anchor: str, shown: Set[int] | None = None) -> list[Markup]:
    """The case's clock to scale: windows as shaded spans, each frame a tick."""
    x0, x1 = _LEFT, width - 10
    span = max(ladder.duration, max((w.end for w in ladder.windows), default=0.0), 0.001)

    def x(t: float) -> float:
        return round(x0 + (x1 - x0) * min(max(t, 0.0), span) / span, 1)

    out = [
        Markup('<text class="lt" x="4" y="{}">time</text>').format(top + 24),
        Markup('<path class="axis" d="M{} {}H{}"/>').format(x0, top + 30, x1),
        Markup('<text class="lt" x="{}" y="{}">0 s</text>').format(x0, top + 42),
        Markup('<text class="lt end" x="{}" y="{}" text-anchor="end">{} s</text>').format(
            x1, top + 42, f"{span:.2f}"),
    ]
    for w in ladder.windows:
        a, b = x(w.start), x(w.end)
        rect = Markup('<rect class="win" x="{}" y="{}" width="{}" height="14"/>'
                      '<text class="lw" x="{}" y="{}">{}</text>').format(
            a, top + 16, max(b - a, 1.0), a + 2, top + 12,
            _fit(f"{w.end - w.start:.2f} s: {w.label}", max((x1 - a) / _CHAR, 20)))
        out.append(_link(Rung("mark", "", seq=w.seq), anchor, rect, shown))
    for tick in ladder.ticks:
        out.append(Markup('<path class="tk {}" d="M{} {}v10"/>').format(tick.tone, x(tick.t), top + 20))
    return out


# -- small helpers -----------------------------------------------------------------------


def _strip_direction(text: str) -> str:
    return text[3:] if text[:3] in ("tx ", "rx ") else text


def _fit(text: str, chars: float) -> str:
    n = max(int(chars), 8)
    return text if len(text) <= n else text[: n - 1] + "…"


def _one_line(value: Any, limit: int) -> str:
    text = " ".join(str(value if value is not None else "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _int(value: Any) -> int:
    return value if isinstance(value, int) else -1


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
