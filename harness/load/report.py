"""The `load` section of a load run's report.json, and its HTML page (pure functions).

report.json (`format: wicct-load/1`) holds the run's parameters, the SUT, the merged
figures (`stats.merge`), the rate over time, the crash if the SUT died, its restarts, and the
violations with one evidence sample each; report.html is derived from it alone.
Secrets never reach either: the settings file that carries them is not copied.
"""

from __future__ import annotations

import html
from typing import Any

from harness import __version__
from harness.load.cpu import summary as generator_summary

FORMAT = "wicct-load/1"


def rate_over_time(per_second: dict[str, int], started: float, finished: float) -> list[list[int]]:
    """[second since the start, final responses in that second] for every second of the run
    (zeros included: a stall shows as a gap, not as a shorter line)."""
    first, last = int(started), int(finished)
    return [[t - first, int(per_second.get(str(t), 0))] for t in range(first, last + 1)]


def section(*, parameters: dict[str, Any], sut: dict[str, Any], figures: dict[str, Any],
            started: float, finished: float, crash: dict[str, Any] | None,
            core: dict[str, int], restarts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The `load` section: everything a reader needs to trust the figures."""
    finals = sum(n for key, n in figures["responses"].items() if int(key.rsplit(" ", 1)[1]) >= 200)
    duration = max(finished - started, 1e-9)
    return {
        "parameters": parameters,
        "sut": sut,
        "duration_s": round(duration, 3),
        "final_responses": finals,
        "rate_per_s": round(finals / duration, 1),
        "rate_over_time": rate_over_time(figures["per_second"], started, finished),
        # connections opened and lost per second, on the same clock: the ramp, and the
        # drops a SUT's stall or restart made
        "connections_over_time": [
            [t, opened, lost] for (t, opened), (_, lost) in zip(
                rate_over_time(figures.get("opened_per_second", {}), started, finished),
                rate_over_time(figures.get("lost_per_second", {}), started, finished), strict=True)],
        "latency": figures["latency"],
        "requests": figures["requests"],
        "responses": figures["responses"],
        "connects": figures["connects"],
        "peak_connections": figures["peak_connections"],
        "harness_rss_peak_kib": figures.get("harness_rss_peak_kib", 0),
        "harness_rss_over_time": figures.get("harness_rss_over_time", []),
        # the generator's own CPU (harness.load.cpu): a rate wicct could not push further
        # is said to be wicct's limit, not passed off as the SUT's
        "generator_cpu": figures.get("generator_cpu") or generator_summary([], started, finished),
        "errors": {cause: {"count": n, "sample": figures["error_samples"].get(cause, "")}
                   for cause, n in sorted(figures["errors"].items())},
        "unanswered": figures["unanswered"],
        "late_responses": figures["late"],
        "keepalive_replies": figures["keepalive_replies"],
        "judged_messages": figures["judged"],
        "violations": [{"count": n, **figures["violation_samples"][key]}
                       for key, n in sorted(figures["violations"].items())],
        "crash": crash,
        "restarts": restarts or [],
        "core": core,
    }


def report(load: dict[str, Any], started_iso: str, finished_iso: str) -> dict[str, Any]:
    return {"format": FORMAT, "harness": f"wicct {__version__}", "started": started_iso,
            "finished": finished_iso, "load": load}


def _table(head: list[str], rows: list[list[Any]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>" if rows else "<p>none</p>"


def _svg(points: list[list[int]], width: int = 640, height: int = 160) -> str:
    if not points:
        return "<p>no responses</p>"
    top = max(1, max(n for _, n in points))
    span = max(1, points[-1][0])
    path = " ".join(f"{10 + (t / span) * (width - 20):.1f},{height - 20 - (n / top) * (height - 30):.1f}"
                    for t, n in points)
    return (f'<svg width="{width}" height="{height}" role="img" aria-label="final responses per second">'
            f'<polyline fill="none" stroke="#2060a0" stroke-width="2" points="{path}"/>'
            f'<text x="10" y="12" font-size="11">{top}/s</text>'
            f'<text x="{width - 60}" y="{height - 4}" font-size="11">{span} s</text></svg>')


def render_html(document: dict[str, Any]) -> str:
    load = document["load"]
    p = load["parameters"]
    crash = load["crash"]
    restarts = load.get("restarts", [])
    crash_html = "" if restarts else "<p>The SUT stayed up for the whole run.</p>"
    crash_html += "".join(f'<p class="bad">{html.escape(r["summary"])}</p>' for r in restarts)
    if crash:
        crash_html += (f'<p class="bad">{html.escape(crash["summary"])}</p>'
                      f'<pre>{html.escape(crash.get("log_tail", ""))}</pre>')
    latency = [[name, s["count"], s["mean_ms"], *s["percentiles_ms"].values()]
               for name, s in load["latency"].items()]
    first = next(iter(load["latency"].values()), None)
    pct_head = list(first["percentiles_ms"]) if first else []
    violations = "".join(
        f'<h3>{html.escape(v["requirement"])} ({html.escape(v["clause"])}, {html.escape(v["strength"])}): '
        f'{html.escape(v["verdict"])} × {v["count"]}</h3><p>{html.escape(v["reason"])}</p>'
        f'<pre>{html.escape(v["sample"])}</pre>' for v in load["violations"]
    ) or f'<p>none in {load["judged_messages"]} messages judged</p>'
    generator = load.get("generator_cpu") or {}
    cpu_html = (f'<p class="bad">The load generator was CPU-bound for {generator["busy_seconds"]} s '
                f'(a Locust process at {generator["busy_at_percent"]:g} % of a CPU or more): the rate '
                "shows wicct's limit as much as the SUT's.</p>" if generator.get("limited") else "")
    cpu_html += (f'<p>{generator.get("processes", 0)} Locust process(es) sampled; the busiest at '
                 f'{generator.get("peak_percent", 0):g} % of a CPU at its peak, '
                 f'{generator.get("busy_seconds", 0)} s at {generator.get("busy_at_percent", 90):g} % '
                 "or more.</p>")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>wicct load</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}.bad{{color:#a00;font-weight:bold}}
pre{{background:#f4f4f4;padding:6px;white-space:pre-wrap}}</style></head><body>
<h1>wicct load: {html.escape(p["scenario"])} against {html.escape(load["sut"]["profile"])}</h1>
<p>{p["users"]} users, spawn rate {p["spawn_rate"]}/s, {p["time_s"]} s, {p["workers"]} worker process(es);
{document["started"]} to {document["finished"]}. A final response awaited up to {p.get("response_timeout_s", "?")} s
(each deadline kept to within {p.get("response_deadline_sweep_s", "?")} s), then counted unanswered.
{load["final_responses"]} final responses,
{load["rate_per_s"]}/s on average; peak {load["peak_connections"]} connections.</p>
<h2>SUT</h2>{crash_html}
<h2>Rate over time (final responses per second)</h2>{_svg(load["rate_over_time"])}
<h2>Load generator CPU</h2>{cpu_html}
<h2>Latency (ms, HDR histogram)</h2>{_table(["request", "count", "mean", *pct_head], latency)}
<h2>Errors by cause</h2>{_table(["cause", "count", "first"], [[c, e["count"], e["sample"]] for c, e in load["errors"].items()])}
<h2>Requests left unanswered</h2>{_table(["request", "count"], [[k, v] for k, v in load["unanswered"].items()])}
<h2>Violations</h2>{violations}
<h2>Keep-alive replies</h2>{_table(["reply", "count"], [[k, v] for k, v in load["keepalive_replies"].items()])}
<h2>Connects</h2>{_table(["outcome", "count"], [[k, v] for k, v in load["connects"].items()])}
</body></html>
"""
