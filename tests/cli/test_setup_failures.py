"""Never green on a dead SUT: each set-up failure exits 2 with the profile and the reason.

A SUT that cannot be reached, whose certificate fails verification, that accepts TCP but
never finishes TLS or never answers the upgrade, a missing CA file, or a fixed core port
that is taken: `wicct run` exits 2 and names the profile and the reason, the profile's
cases are in the report as INCONCLUSIVE "not tried: set-up failure ...", and JUnit shows
them as skips whose message starts with "INCONCLUSIVE:".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import ssl
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pki import Pki

ROOT = Path(__file__).resolve().parents[2]
SELECT = "(EPC-HS-01 and not reconnect) or EPC-ORIGIN-01"


def wicct(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def silent_server(context: ssl.SSLContext | None = None, said: bytes = b"") -> Iterator[int]:
    """Accepts TCP (and, with `context`, completes TLS), then never says a word (or, with
    `said`, reads the request, says that and closes)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if context is not None:
                conn.settimeout(5)
                try:
                    conn = context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()  # the client refused our certificate
                    continue
            if said:
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    conn.sendall(said)
                conn.close()
                continue
            held.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


def external_profile(tmp_path: Path, port: int, ca: str, core: str = "udp://127.0.0.1:0") -> Path:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "name: lab eP-CSCF\nrole: epcscf\ndriver: external\n"
        f"sut: {{url: 'wss://127.0.0.1:{port}/', ca: '{ca}'}}\n"
        f"core: {{listen: '{core}'}}\n"
        "timers: {start_timeout: 1s, handshake_timeout: 500ms, response_timeout: 500ms}\n"
    )
    return path


def run_dead(tmp_path: Path, profile: Path, kind: str, *reason: str) -> dict:
    """Run the profile; assert exit 2, the message, the not-tried cases and the JUnit skips."""
    out = tmp_path / "out"
    started = time.monotonic()
    proc = wicct("run", "--profile", str(profile), "--out", str(out), "--select", SELECT)
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"wicct: set-up failure of profile lab ({kind}): "), proc.stderr
    for text in reason:
        assert text in last, last
    assert "2 case(s) not tried" in last
    report = json.loads((out / "report.json").read_text())
    assert report["suts"][0]["setup_failure"]["kind"] == kind
    assert [c["id"] for c in report["cases"]] == ["EPC-HS-01", "EPC-ORIGIN-01"]
    for case in report["cases"]:
        assert case["verdict"] == "INCONCLUSIVE"
        assert case["reason"].startswith(f"not tried: set-up failure of profile lab ({kind}): ")
    junit = ET.parse(out / "junit.xml").getroot()
    skips = junit.findall(".//testcase/skipped")
    assert len(skips) == 2
    assert all(s.get("message", "").startswith("INCONCLUSIVE: not tried: ") for s in skips)
    verdicts = [p.get("value") for p in junit.iter("property") if p.get("name") == "wicct.verdict"]
    assert verdicts == ["INCONCLUSIVE", "INCONCLUSIVE"]
    assert elapsed < 30, f"a dead SUT took {elapsed:.1f} s"
    return report


def test_unreachable_sut_exits_2(tmp_path: Path) -> None:
    port = closed_port()
    run_dead(
        tmp_path, external_profile(tmp_path, port, "system"), "unreachable",
        f"cannot reach wss://127.0.0.1:{port}/: connection refused",
    )


def test_missing_ca_file_exits_2(tmp_path: Path) -> None:
    with silent_server() as port:
        profile = external_profile(tmp_path, port, str(tmp_path / "no-such-ca.pem"))
        run_dead(tmp_path, profile, "ca-or-key", "no-such-ca.pem", "no such file")


def test_tcp_accepted_but_no_tls_exits_2(tmp_path: Path, pki: Pki) -> None:
    with silent_server() as port:
        run_dead(
            tmp_path, external_profile(tmp_path, port, str(pki.ca_pem)), "no-handshake",
            "accepted TCP but completed no TLS handshake within 0.5 s",
        )


def test_tls_but_no_http_answer_exits_2(tmp_path: Path, pki: Pki) -> None:
    with silent_server(pki.server_context()) as port:
        run_dead(
            tmp_path, external_profile(tmp_path, port, str(pki.ca_pem)), "no-handshake",
            "completed TLS but sent no answer to a WebSocket upgrade request within 0.5 s",
        )


def test_half_a_101_is_no_answer_exits_2(tmp_path: Path, pki: Pki) -> None:
    """The probe reads a whole response through websockets' parser, as the cases do: a
    status line and half a header, then the close, is no answer (issue 11)."""
    half = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConn"
    with silent_server(pki.server_context(), said=half) as port:
        run_dead(
            tmp_path, external_profile(tmp_path, port, str(pki.ca_pem)), "no-handshake",
            f"wss://127.0.0.1:{port}/", "upgrade request",
        )


def test_wrong_name_certificate_exits_2(tmp_path: Path, pki: Pki) -> None:
    with silent_server(pki.server_context("wrong.example.test")) as port:
        run_dead(
            tmp_path, external_profile(tmp_path, port, str(pki.ca_pem)), "tls-verification",
            "failed verification", "certificate is not valid for '127.0.0.1'",
        )


def test_expired_certificate_exits_2(tmp_path: Path, pki: Pki) -> None:
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    leaf = pki.ca.issue_cert("127.0.0.1", not_before=yesterday - dt.timedelta(days=30),
                             not_after=yesterday)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    with silent_server(context) as port:
        run_dead(
            tmp_path, external_profile(tmp_path, port, str(pki.ca_pem)), "tls-verification",
            "certificate has expired",
        )


def test_core_port_in_use_exits_2(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        profile = external_profile(tmp_path, closed_port(), "system", f"udp://127.0.0.1:{port}")
        run_dead(
            tmp_path, profile, "port-in-use",
            f"environment error: IMS-core stub: core stub cannot bind udp 127.0.0.1:{port}",
        )


def test_a_dead_profile_does_not_stop_the_others(tmp_path: Path) -> None:
    """The reference profile still runs (and passes) beside a dead one; exit 2 all the same."""
    out = tmp_path / "out"
    dead = external_profile(tmp_path, closed_port(), "system")
    proc = wicct("run", "--profile", str(dead), "--profile", "reference-epcscf",
                 "--out", str(out), "--select", "EPC-HS-01 and not reconnect")
    assert proc.returncode == 2, proc.stderr
    report = json.loads((out / "report.json").read_text())
    verdicts = {(c["profile"], c["id"]): c["verdict"] for c in report["cases"]}
    assert verdicts == {("lab", "EPC-HS-01"): "INCONCLUSIVE",
                        ("reference-epcscf", "EPC-HS-01"): "PASS"}
    assert "set-up failure of profile lab (unreachable)" in (out / "report.html").read_text()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_not_applicable_stays_so_when_the_set_up_failed(tmp_path: Path, jobs: str) -> None:
    """A case the profile does not claim the feature for is NOT-APPLICABLE, tried or not."""
    out = tmp_path / "out"
    proc = wicct("run", "--profile", str(external_profile(tmp_path, closed_port(), "system")),
                 "--out", str(out), "--select", "(EPC-KA-04 and not core) or (EPC-HS-01 and not reconnect)",
                 "--jobs", jobs)
    assert proc.returncode == 2
    report = json.loads((out / "report.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in report["cases"]}
    assert verdicts == {"EPC-HS-01": "INCONCLUSIVE", "EPC-KA-04": "NOT-APPLICABLE"}
    assert report["suts"][0]["setup_failure"]["not_tried"] == 1
