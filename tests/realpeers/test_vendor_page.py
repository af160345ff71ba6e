"""A vendor's own page through the browser driver, by profile options only (issue item 10).

tests/realpeers/vendor_page/ holds a second implementation of the page contract (window.wic
on JsSIP, its own file names, the bundle served under another name); the profile next to it
names the page and its assets. The driver serves exactly those files, checks the contract,
and registers through it against a minimal eP-CSCF; one WIC case runs through `wicct run`.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.pki import Pki
from harness.plugin import load_profiles
from harness.suts.base import DriverError
from harness.suts.browser.driver import missing_prerequisites
from harness.suts.checks import profile_warnings

from .conftest import ROOT
from .test_browser_driver import _epcscf, _start_wic

PROFILE = Path(__file__).parent / "vendor_page" / "acme-softphone.yaml"
MISSING = missing_prerequisites()
pytestmark = [
    pytest.mark.realpeer,
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"REAL PEER MISSING: {', '.join(MISSING)} (run scripts/install-real-peers.sh)",
    ),
]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


async def test_vendor_page_registers_through_the_contract(tmp_path: Path, pki: Pki) -> None:
    (profile,) = load_profiles([str(PROFILE)])
    assert profile_warnings(profile) == []
    async with _epcscf(pki, profile.password) as (peer, _server, url):
        driver = await _start_wic(profile, pki, url, tmp_path)
        try:
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+", driver.origin), driver.origin
            assert driver.page_url == f"{driver.origin}/softphone.html"
            before = await driver.state()
            assert before.registered is False and before.extra.get("vendor") == "acme", before

            await driver.register()
            await asyncio.wait_for(peer.registered.wait(), 10)
            state = await driver.wait_for(lambda s: s.registered, what="registration")
            assert state.connected and state.registered and state.detail == "registered", state
            assert peer.digest_ok is True
            assert peer.handshakes[0]["origin"] == [driver.origin]

            with pytest.raises(DriverError, match="no call to hang up"):
                await driver.hangup()

            # only the profile's files are served, under the profile's names
            statuses = {
                name: await asyncio.to_thread(_status, f"{driver.origin}/{name}")
                for name in ("softphone.html", "acme-glue.js", "lib/sip-stack.js", "wic.js",
                             "jssip.bundle.js", "acme-softphone.yaml")
            }  # fmt: skip
            assert statuses == {
                "softphone.html": 200, "acme-glue.js": 200, "lib/sip-stack.js": 200,
                "wic.js": 404, "jssip.bundle.js": 404, "acme-softphone.yaml": 404,
            }  # fmt: skip
        finally:
            await driver.stop()
    log = driver.log_text()
    assert "[acme] configured for wss://127.0.0.1:" in log, log[-3000:]
    assert f"page origin {driver.origin}, acme mode fast" in log, log[-3000:]
    assert "[acme] registered" in log
    assert profile.password not in log


def test_vendor_page_passes_wic_cases_through_wicct_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-q", "--profile", str(PROFILE),
         "--out", str(out), "--select", "WIC-HS-01 or WIC-HS-02 or WIC-FR-01-register"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads((out / "report.json").read_text())
    verdicts = {c["id"]: c["verdict"] for c in report["cases"]}
    assert verdicts == {"WIC-HS-01": "PASS", "WIC-HS-02": "PASS", "WIC-FR-01-register": "PASS"}
    assert "warnings" not in report["suts"][0]
