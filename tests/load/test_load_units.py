"""The load mode's pure parts: judging received messages with the conformance checks, the
figures and their merge, the varied offer, the report section (issue 12). No Locust here:
its import patches ssl, so it never enters the pytest process."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.load import cpu
from harness.load.judge import judge_handshake, judge_message
from harness.load.report import rate_over_time, render_html, report, section
from harness.load.stats import LoadStats, merge
from harness.load.wic import vary_offer

ROOT = Path(__file__).resolve().parents[2]

RESPONSE = (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/WSS a.invalid;branch=z9hG4bK1\r\n"
            b"From: <sip:a@x>;tag=1\r\nTo: <sip:a@x>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\n"
            b"Content-Length: 0\r\n\r\n")


def test_a_whole_response_alone_in_its_message_passes_every_rule() -> None:
    message, violations = judge_message("text", RESPONSE)
    assert message is not None and message.status == 200
    assert violations == []


def test_two_sip_messages_in_one_websocket_message_is_a_fail_with_its_sample() -> None:
    _, violations = judge_message("text", RESPONSE + RESPONSE)
    [found] = [v for v in violations if v.check == "one_sip_message_per_ws_message"]
    assert found.verdict == "FAIL" and found.strength == "shall" and found.clause == "RFC 7118 §5"
    assert "more than one SIP message" in found.reason
    assert found.sample.startswith("SIP/2.0 200 OK")


def test_invalid_utf8_in_a_text_message_and_junk_are_judged() -> None:
    _, bad_text = judge_message("text", RESPONSE.replace(b"c1", b"c\xff"))
    assert {v.requirement for v in bad_text} >= {"BOTH-FR-09"}
    _, junk = judge_message("text", b"hello, not SIP")
    assert {v.verdict for v in junk} == {"FAIL", "INFORMATIONAL"}  # framing FAIL, BOTH-FR-10 info


def test_a_crlf_keepalive_is_no_sip_and_no_violation() -> None:
    message, violations = judge_message("text", b"\r\n")
    assert message is None and violations == []


def test_a_batch_judges_each_message_as_judging_it_alone_would() -> None:
    from harness.load.judge import BATCH, Batch

    bad = [RESPONSE + RESPONSE, RESPONSE.replace(b"c1", b"c\xff"), b"hello, not SIP"]
    received = [("text", RESPONSE)] * 10 + [("text", b"\r\n")] + [("text", m) for m in bad]
    received += [("binary", RESPONSE)] * 3
    batch = Batch()
    messages = [batch.add(opcode, payload) for opcode, payload in received]
    judged, violations = batch.judge()
    alone = [judge_message(opcode, payload) for opcode, payload in received]
    assert judged == len(received)
    assert [m.start_line if m else None for m in messages] == [
        m.start_line if m else None for m, _ in alone]
    assert violations == [v for _, found in alone for v in found]  # the same, in order
    assert len(violations) >= len(bad)
    # a batch of good messages passes as a whole; a judged batch starts empty
    for _ in range(BATCH):
        batch.add("text", RESPONSE)
    assert batch.full() and batch.judge() == (BATCH, []) and batch.judge() == (0, [])


def _accept(key: str) -> str:
    digest = hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    return base64.b64encode(digest).decode()


def test_the_101_is_judged_for_its_accept_and_subprotocol() -> None:
    key = base64.b64encode(b"0123456789abcdef").decode()
    request = [["Sec-WebSocket-Key", key], ["Sec-WebSocket-Protocol", "sip"]]
    good = [["Sec-WebSocket-Accept", _accept(key)], ["Sec-WebSocket-Protocol", "sip"]]
    assert judge_handshake(request, 101, good) == []
    wrong = [["Sec-WebSocket-Accept", _accept("other")], ["Sec-WebSocket-Protocol", "sip"]]
    [found] = judge_handshake(request, 101, wrong)
    assert found.requirement == "EPC-HS-01" and "does not match the key" in found.reason


def test_figures_of_two_processes_merge() -> None:
    first, second = LoadStats(), LoadStats()
    for stats, ms in ((first, 2.0), (second, 40.0)):
        stats.requests["REGISTER"] += 1
        stats.answered("REGISTER", 200, ms / 1000)
        stats.opened()
        stats.error("refused", "[Errno 111]")
    _, violations = judge_message("text", RESPONSE + RESPONSE)
    second.violation(violations[0])
    second.violation(violations[0])
    merged = merge([first.to_json(), second.to_json()])
    assert merged["requests"] == {"REGISTER": 2} and merged["responses"] == {"REGISTER 200": 2}
    assert merged["errors"] == {"refused": 2} and merged["peak_connections"] == 2
    latency = merged["latency"]["REGISTER"]
    assert latency["count"] == 2
    assert 1.9 < latency["percentiles_ms"]["p50"] < 2.1 and 39 < latency["percentiles_ms"]["p100"] < 41
    [(key, count)] = merged["violations"].items()
    assert count == 2 and merged["violation_samples"][key]["check"] == "one_sip_message_per_ws_message"


def test_latency_counted_by_hdr_step_is_the_histogram_of_every_value_recorded() -> None:
    """LoadStats counts each latency under the value its HDR bucket starts at and folds the
    counts into a histogram when it writes its figures: the same histogram, count for
    count, as recording each value (the percentiles the report shows come from it)."""
    import random

    from harness.load.stats import HIGHEST_US, LOWEST_US, hdr_step, histogram

    draw = random.Random(12)
    values = [draw.randint(1, 5_000_000) for _ in range(20_000)]
    values += [0, 1, 2047, 2048, 2049, 4095, 4096, 123_456_789, HIGHEST_US]
    stats, each = LoadStats(), histogram()
    for us in values:
        stats.record_latency("REGISTER", us / 1e6)  # back to µs as record_latency does it
        each.record_value(max(LOWEST_US, min(HIGHEST_US, int(us / 1e6 * 1e6))))
    folded = stats.histograms()["REGISTER"]
    assert folded.get_total_count() == each.get_total_count() == len(values)
    assert list(folded.counts) == list(each.counts)
    assert [hdr_step(v) for v in (4095, 8191, 10_001)] == [each.get_lowest_equivalent_value(v)
                                                          for v in (4095, 8191, 10_001)]
    for p in (1.0, 50.0, 90.0, 99.0, 99.9, 100.0):
        assert folded.get_value_at_percentile(p) == each.get_value_at_percentile(p)
    assert hdr_step(2047) == 2047 and hdr_step(2049) == 2048 and hdr_step(4097) == 4096
    assert hdr_step(0) == LOWEST_US and hdr_step(10**12) == hdr_step(HIGHEST_US)
    assert len(stats.latency["REGISTER"]) < len(set(values))  # counts, not values, are kept


def test_each_call_varies_the_offer_made_once() -> None:
    offer = ("v=0\r\no=- 123 456 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
             "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef01234567\r\n")
    first, second = vary_offer(offer), vary_offer(offer)
    assert first != second
    for varied in (first, second):
        assert "o=- 123 " not in varied and "a=ice-ufrag:abcd" not in varied
        assert "m=audio 9 UDP/TLS/RTP/SAVPF 111" in varied


def test_the_rate_over_time_keeps_silent_seconds() -> None:
    assert rate_over_time({"101": 5, "103": 7}, 100.2, 103.9) == [[0, 0], [1, 5], [2, 0], [3, 7]]


def test_the_section_and_its_page_show_crash_violations_and_errors() -> None:
    stats = LoadStats()
    stats.answered("REGISTER", 200, 0.003)
    stats.error("refused", "[Errno 111] Connection refused")
    _, violations = judge_message("text", RESPONSE + RESPONSE)
    stats.violation(violations[0])
    figures = merge([stats.to_json()])
    crash = {"at": "t", "after_s": 1.5, "how": "process 7 is gone", "pid": 7, "unanswered": 3,
             "summary": "SUT crashed 1.5 s into the run (process 7 is gone); 3 request(s) left unanswered",
             "log_tail": "last <line>"}
    load = section(parameters={"scenario": "register", "users": 2, "spawn_rate": 2.0, "time_s": 3,
                               "workers": 0, "response_timeout_s": 5.0,
                               "response_deadline_sweep_s": 0.25},
                   sut={"profile": "ref"}, figures=figures, started=10.0,
                   finished=12.0, crash=crash, core={})
    assert load["final_responses"] == 1 and load["violations"][0]["count"] == 1
    page = render_html(report(load, "a", "b"))
    assert "SUT crashed 1.5 s" in page and "last &lt;line&gt;" in page
    assert "awaited up to 5.0 s" in page and "within 0.25 s" in page
    assert "refused" in page and "RFC 7118 §5" in page and "<svg" in page


def test_the_harness_memory_over_time_keeps_each_second_largest_sample() -> None:
    from harness.load.run import rss_over_time

    started = 1000.7  # the clock of rate_over_time: whole seconds of time.time()
    samples = [(1000.8, 100), (1000.95, 120), (1001.2, 110), (1003.5, 90)]
    assert rss_over_time(samples, started) == [[0, 120], [1, 110], [3, 90]]
    assert rss_over_time([], started) == []


def _bench() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("load_bench", ROOT / "bench" / "load_bench.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_the_bench_reads_memory_from_the_seconds_every_user_was_held() -> None:
    bench = _bench()
    load = {"connections_over_time": [[0, 5, 0], [1, 5, 0], [2, 0, 0]],
            "harness_rss_over_time": [[0, 50], [1, 70], [3, 80], [4, 81], [5, 82], [9, 140]],
            "harness_rss_peak_kib": 140}
    # all connected in second 1: held from second 3 to the run's last whole second (9 - 1)
    assert bench.held_rss(load, 9.0) == 81
    assert bench.held_rss({**load, "harness_rss_over_time": []}, 9.0) == 140


def test_the_bench_takes_the_sut_cpu_over_a_clients_measured_window() -> None:
    bench = _bench()
    sut = bench.SutCpu.__new__(bench.SutCpu)  # its samples only: no SUT, no thread
    # the SUT busy at 1.2 CPUs from t=1000 on, sampled every half second
    sut.samples = [(1000.0 + i / 2, 50.0 + 0.6 * i) for i in range(41)]
    # 10 s at 4,000/s: 12 CPU-seconds over 40,000 REGISTERs, 300 µs each
    assert round(sut.per_register_us([1005.0, 1015.0], 4000.0)) == 300
    assert sut.per_register_us([2000.0, 2010.0], 4000.0) == 0.0  # no samples there
    load = {"connections_over_time": [[0, 10, 0], [1, 0, 0]], "run_seconds": 15,
            "started": "2026-11-28T17:00:00+00:00"}
    start = 1795885200.0  # 17:00:00 UTC that day
    assert bench.wicct_window(load) == [start + 2, start + 14]


def test_the_generator_cpu_per_second_names_the_busiest_process_and_a_limited_run() -> None:
    # two processes sampled every half second: one at a full CPU, one at a fifth
    samples = [(100.0 + i / 2, (i / 2, i / 10)) for i in range(13)]  # 100.0 .. 106.0
    seconds = cpu.over_time(samples, 100.0, 106.0)
    assert seconds == [[t, 100.0, 120.0] for t in range(6)]
    found = cpu.summary(samples, 100.0, 106.0)
    assert found["busy_seconds"] == 6 and found["limited"] and found["processes"] == 2
    # the same run at half a CPU is no limit; a vanished process's time never runs back
    calm = [(t, (c / 2, c2)) for t, (c, c2) in samples]
    assert not cpu.summary(calm, 100.0, 106.0)["limited"]
    assert cpu.over_time([(0.0, (5.0,)), (1.0, (2.0,))], 0.0, 1.0) == [[0, 0.0, 0.0]]
    # seconds without a final response (Locust's imports, its stop) are never a limit
    assert not cpu.summary(samples, 100.0, 106.0, [[0, 5], [1, 5], [2, 0]])["limited"]
    assert cpu.summary(samples, 100.0, 106.0, [[t, 5] for t in range(3)])["limited"]
    # CPU µs per final response over a window: 1.2 CPU s a second, 1,000 finals a second
    rate = [[t, 1000] for t in range(6)]
    assert cpu.per_response_us(found, rate, 2, 5) == pytest.approx(1200.0)
    assert cpu.cpu_seconds(os.getpid()) is not None and cpu.cpu_seconds(2**22 + 7) is None


def test_the_page_says_when_the_generator_limited_the_rate() -> None:
    figures = merge([LoadStats().to_json()])
    figures["generator_cpu"] = cpu.summary([(10.0 + i, (0.95 * i,)) for i in range(6)], 10.0, 15.0)
    load = section(parameters={"scenario": "register", "users": 2, "spawn_rate": 2.0, "time_s": 5,
                               "workers": 0}, sut={"profile": "ref"}, figures=figures, started=10.0,
                   finished=15.0, crash=None, core={})
    assert load["generator_cpu"]["limited"]
    assert "CPU-bound for 5 s" in render_html(report(load, "a", "b"))
    figures.pop("generator_cpu")
    quiet = section(parameters={"scenario": "register", "users": 2, "spawn_rate": 2.0, "time_s": 5,
                                "workers": 0}, sut={"profile": "ref"}, figures=figures, started=10.0,
                    finished=15.0, crash=None, core={})
    assert quiet["generator_cpu"]["processes"] == 0 and "CPU-bound" not in render_html(report(quiet, "a", "b"))


def test_locust_never_entered_this_process() -> None:
    assert "locust" not in sys.modules and "gevent.monkey" not in sys.modules


def test_an_unwatched_sut_refusing_after_it_served_is_taken_as_crashed() -> None:
    from harness.load.run import refusals

    stats = LoadStats()
    stats.error("refused", "[Errno 111] Connection refused")
    assert refusals(merge([stats.to_json()]), 0.0) is None  # never reached: not a crash
    stats.opened()
    crash = refusals(merge([stats.to_json()]), stats.error_first["refused"] - 2.0)
    assert crash is not None and crash["after_s"] == 2.0 and "refused after 1 succeeded" in crash["how"]


def test_a_sut_that_accepted_nothing_and_timed_out_is_reported_unresponsive() -> None:
    from harness.load.run import unresponsive

    stats = LoadStats()
    stats.error("connect-timeout", "timed out")
    crash = unresponsive(merge([stats.to_json()]), stats.error_first["connect-timeout"] - 1.0)
    assert crash is not None and crash["how"].startswith("unresponsive") and crash["after_s"] == 1.0
    stats.opened()  # one connection accepted: slow, not hung
    assert unresponsive(merge([stats.to_json()]), 0.0) is None


def _figures(*, peak: int, lost: dict[int, int], opened: dict[int, int],
             refused_at: float | None = None, unanswered: int = 0) -> dict[str, Any]:
    stats = LoadStats()
    stats.peak_connections = peak
    stats.lost_per_second.update(lost)
    stats.opened_per_second.update(opened)
    stats.connects["ok"] = sum(opened.values())
    if unanswered:
        stats.unanswered["REGISTER"] = unanswered
    if refused_at is not None:
        stats.error("refused", "[Errno 111] Connection refused")
        stats.error_first["refused"] = refused_at
    return merge([stats.to_json()])


def test_a_sut_that_dropped_every_connection_then_accepted_again_is_reported_restarted() -> None:
    from harness.load.run import dropped_and_accepted

    figures = _figures(peak=10, lost={105: 6, 106: 4}, opened={100: 10, 109: 10}, unanswered=3)
    [restart] = dropped_and_accepted(figures, 100.0)
    assert restart["after_s"] == 5.0 and restart["connections_lost"] == 10
    assert restart["connections_accepted_after"] == 10 and restart["unanswered"] == 3
    assert not restart["hook"] and "every connection dropped (10 of 10)" in restart["how"]
    assert "SUT restarted 5.0 s into the run" in restart["summary"]
    # never accepted again: no restart (a crash, told by its process or the refusals)
    assert dropped_and_accepted(_figures(peak=10, lost={105: 10}, opened={100: 10}), 100.0) == []
    # some connections lost, not every one: no restart
    assert dropped_and_accepted(_figures(peak=10, lost={105: 5}, opened={100: 10, 109: 5}),
                                100.0) == []


def test_refusals_followed_by_accepted_connections_are_no_crash() -> None:
    from harness.load.run import refusals

    came_back = _figures(peak=4, lost={103: 4}, opened={100: 4, 106: 4}, refused_at=103.5)
    assert refusals(came_back, 100.0) is None
    # opened in the second it died, before the refusal: still a crash
    died = _figures(peak=4, lost={103: 4}, opened={100: 4, 103: 1}, refused_at=103.5)
    crash = refusals(died, 100.0)
    assert crash is not None and crash["after_s"] == 3.5


def test_the_restart_hooks_record_becomes_the_restart_with_its_losses() -> None:
    from harness.load.run import process_restarts

    figures = _figures(peak=4, lost={104: 3, 110: 1, 130: 1}, opened={100: 4, 106: 4}, unanswered=2)
    record = [{"at": 50.0, "old_pid": 1, "new_pid": 2, "ready_at": 51.0},  # an earlier load's
              {"at": 104.2, "old_pid": 2, "new_pid": 3, "ready_at": 105.7}]
    [restart] = process_restarts(record, 100.0, figures)
    assert restart["hook"] and restart["how"] == "process 2 replaced by 3 (down 1.5 s)"
    assert restart["connections_lost"] == 4 and restart["connections_accepted_after"] == 4
    assert restart["after_s"] == 4.2 and restart["unanswered"] == 2
    failed = process_restarts([{"at": 104.0, "old_pid": 2, "new_pid": None,
                                "error": "not started again: port in use"}], 100.0, figures)
    assert "not started again: port in use" in failed[0]["how"]
    assert failed[0]["connections_accepted_after"] == 0


class _Trickle:
    """A socket that takes at most `step` bytes a send (0: none at all)."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.got = b""

    def send(self, data: memoryview) -> int:
        taken = bytes(data[: self.step])
        self.got += taken
        return len(taken)


def test_a_partial_send_is_finished_and_a_socket_taking_nothing_is_a_timeout() -> None:
    from harness.load.wire import _send_all

    trickle = _Trickle(3)
    _send_all(trickle, b"REGISTER sip:x SIP/2.0\r\n")  # type: ignore[arg-type]
    assert trickle.got == b"REGISTER sip:x SIP/2.0\r\n"
    with pytest.raises(TimeoutError):
        _send_all(_Trickle(0), b"x")  # type: ignore[arg-type]


def test_the_light_core_asks_for_a_large_udp_receive_buffer() -> None:
    import asyncio
    import socket as socketlib
    from pathlib import Path

    from harness.load.core import RCVBUF, LoadCore

    async def size() -> int:
        core = LoadCore(host="127.0.0.1", realm="r", password="p", challenge=True, answer="")
        await core.start()
        try:
            assert core._transport is not None
            sock = core._transport.get_extra_info("socket")
            return int(sock.getsockopt(socketlib.SOL_SOCKET, socketlib.SO_RCVBUF))
        finally:
            core.stop()

    cap = int(Path("/proc/sys/net/core/rmem_max").read_text())
    # Linux doubles what it grants (socket(7)); it grants at most rmem_max
    assert asyncio.run(size()) >= 2 * min(RCVBUF, cap)


def test_a_lost_read_is_named_by_its_cause() -> None:
    import ssl

    from harness.load.wire import _lost

    assert _lost(ssl.SSLError(1, "bad record mac")).cause == "tls"
    assert _lost(ValueError("Read on closed or unwrapped SSL socket.")).cause == "closed"
    assert _lost(ConnectionResetError(104, "reset")).cause == "reset"


def test_a_wait_for_a_response_ends_on_time_and_the_connection_goes_on() -> None:
    """A load user's wait for a response ends on time, after a longer or a shorter wait
    before it, and the WebSocket is usable after a wait ran out (no hang, no lost user)."""
    import json
    import subprocess

    done = subprocess.run([sys.executable, str(ROOT / "tests" / "load" / "wait_probe.py")],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    steps = found["timed"]
    assert [s["sent"] for s in steps if s["got"]] == ["echo 1", "echo 2", "echo 3", "echo 4"]
    for step in steps:
        if step["sent"].startswith("echo"):
            assert step["got"] == [step["sent"]] and step["seconds"] < 2.0
        else:  # on time: well before the 5 s wait that came before it (a busy CI machine)
            assert step["got"] == [] and step["wait"] <= step["seconds"] < step["wait"] + 1.0, step
    # Awaited under a Watch (as Locust's users await responses: no timer per read), over TCP
    # and over TLS: each echo comes; a Ping (answered while waiting) then silence ends within
    # a sweep of its deadline; the connection is over (a request left unanswered ends it:
    # WicUser.outcome).
    from harness.load.wire import Watch

    for run in (found["watched"], found["watched_tls"]):
        echoes, silence = run["steps"][:2], run["steps"][2]
        assert [s["got"] for s in echoes] == [["echo 1"], ["echo 2"]], run
        assert all(s["seconds"] < 2.0 for s in echoes), run
        assert silence["got"] == [] and run["pongs"] == ["p"], run  # answered while waiting
        assert silence["wait"] <= silence["seconds"] < silence["wait"] + Watch.SWEEP + 1.0, run
        assert run["after"] == "closed" and run["waiting"] == 0, run


def test_a_wic_waits_longer_after_each_failure_in_a_row_and_at_random_within_half() -> None:
    """RFC 5626 §4.5's wait-time: doubling from the base, capped, and drawn between 50 and
    100 % of it, so users that failed together come back spread out."""
    from harness.load.wic import RECONNECT_BASE, RECONNECT_MAX, reconnect_pause

    assert reconnect_pause(1, 0.999999) == pytest.approx(RECONNECT_BASE, rel=1e-5)
    assert reconnect_pause(1, 0.0) == pytest.approx(RECONNECT_BASE / 2)
    longest = [reconnect_pause(n, 0.999999) for n in range(1, 12)]
    assert longest[:4] == pytest.approx([0.2, 0.4, 0.8, 1.6], rel=1e-5)
    assert longest == sorted(longest) and max(longest) == pytest.approx(RECONNECT_MAX, rel=1e-5)
    assert reconnect_pause(40, 0.0) == pytest.approx(RECONNECT_MAX / 2)
    # A SUT down for hours: a user meets more failures in a row than a float power can take.
    assert reconnect_pause(10**6, 0.999999) == pytest.approx(RECONNECT_MAX, rel=1e-5)
    assert reconnect_pause(3, 0.25) == pytest.approx(0.8 * 0.625)


def test_the_light_core_answers_over_tcp_on_its_udp_port_each_message_of_the_stream() -> None:
    """`wicct load` has the eP-CSCF reach the light core over TCP (no retransmissions, RFC
    3261 §17.1.1.2): two REGISTERs in one segment and one cut in two are each answered on
    that connection, 401 without credentials (RFC 3261 §22.1), in order."""
    import asyncio

    from harness.load.core import LoadCore
    from harness.sip import parse

    def register(n: int) -> bytes:
        return (f"REGISTER sip:ims.example SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5;branch=z9hG4bK{n}\r\n"
                f"From: <sip:u@ims.example>;tag=f\r\nTo: <sip:u@ims.example>\r\nCall-ID: c{n}\r\n"
                f"CSeq: {n} REGISTER\r\nContact: <sip:u@h.invalid;transport=ws>\r\n"
                "Content-Length: 0\r\n\r\n").encode()

    async def exchange() -> list[tuple[int | None, str]]:
        core = LoadCore(host="127.0.0.1", realm="ims.example", password="p", challenge=True, answer="")
        await core.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", core.port)
            third = register(3)
            writer.write(register(1) + register(2) + third[:40])
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(third[40:])
            answers = []
            for _ in range(3):
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
                message = parse(head).message
                answers.append((message.status, message.call_id))
            writer.close()
            assert core.counts["REGISTER"] == 3
            return answers
        finally:
            core.stop()

    assert asyncio.run(exchange()) == [(401, "c1"), (401, "c2"), (401, "c3")]
