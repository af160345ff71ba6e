"""Screenshots of report.html in headless Chromium (issue 10: looked at before resolving).

A run with a fault switch (the reference eP-CSCF's `no_pong`: BOTH-KA-01 FAILs) gives a
report with a FAIL; the test takes the first screen, the FAIL case with its ladder, and the
evidence entry a click on the failing rung opens, and checks what a reader would see. The
PNGs are saved under pytest's tmp dir; with WICCT_SCREENS=DIR, copies go there too.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import require_chromium

ROOT = Path(__file__).resolve().parents[2]
FAIL_RED = "rgb(207, 34, 46)"  # report.css --fail


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_chromium()
    tmp = tmp_path_factory.mktemp("screens")
    profile = tmp / "faulty.yaml"
    text = (ROOT / "profiles" / "reference-epcscf.yaml").read_text()
    profile.write_text(text.replace("faults: []", "faults: [no_pong]"))
    out = tmp / "run-no-pong"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--profile", str(profile), "--out", str(out),
         "--select", "BOTH-KA-01 or (HS-01 and not reconnect)", "-q"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    verdicts = {c["id"]: c["verdict"] for c in json.loads((out / "report.json").read_text())["cases"]}
    assert verdicts == {"BOTH-KA-01-epcscf": "FAIL", "EPC-HS-01": "PASS"}
    return out


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_screenshots_first_screen_and_a_fail_with_its_ladder(fault_run: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = require_chromium()
    shots = {name: tmp_path / f"{name}.png" for name in ("first-screen", "fail-case", "fail-evidence")}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((fault_run / "report.html").as_uri())
            page.screenshot(path=str(shots["first-screen"]))
            assert "FAIL" in page.locator(".outcome").inner_text()

            case = page.locator("article.case.v-fail")
            assert case.count() == 1
            ladder = case.locator("figure.ladder svg.ladder")
            ladder.scroll_into_view_if_needed()
            box = ladder.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 200, box
            lanes = ladder.locator("text.ln").all_text_contents()
            assert lanes == ["wicct WIC", "eP-CSCF (SUT)"], lanes
            failing = ladder.locator("g.fail")
            assert failing.count() == 1 and "ping 10B FIN MASK" in (failing.text_content() or "")
            stroke = failing.locator("path").first.evaluate("e => getComputedStyle(e).stroke")
            assert stroke == FAIL_RED
            case.screenshot(path=str(shots["fail-case"]))

            # the failing rung links to the raw bytes: a click opens the wire evidence there
            link = ladder.locator("a:has(g.fail)")
            target = page.locator(f"[id='{link.get_attribute('href')[1:]}']")
            assert not target.is_visible()
            link.click()
            assert target.is_visible() and "cited" in (target.get_attribute("class") or "")
            assert "0123456789" in target.inner_text()  # the Ping's payload, as sent
            page.screenshot(path=str(shots["fail-evidence"]))

            passed = page.locator("article.case.v-pass details.ladder")
            assert passed.count() == 1 and not passed.locator("svg").is_visible()  # compact, folded
        finally:
            browser.close()
    for path in shots.values():
        width, height = _png_size(path)
        assert width >= 600 and height >= 300, (path.name, width, height)
    keep = os.environ.get("WICCT_SCREENS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for path in shots.values():
            shutil.copy(path, Path(keep) / path.name)


def test_the_fail_and_its_ladder_are_in_the_pdf(fault_run: Path) -> None:
    from pypdf import PdfReader

    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "pdf", str(fault_run)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(fault_run / "report.pdf").pages]
    whole = " ".join(pages)
    assert "BOTH-KA-01-epcscf" in whole and "no Pong with payload" in whole
    # the ladder is vector text in the PDF: its lanes and the failing Ping are readable
    assert "eP-CSCF (SUT)" in whole and "frame ping 10B FIN MASK" in whole
    assert "run-no-pong" in pages[-1] and "End of report run-no-pong" in pages[-1]
