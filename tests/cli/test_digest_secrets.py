"""Digest responses never leave wicct in clear (issue 8 item 6): EPC-REG-01 run end to end
against the reference eP-CSCF; every response the WIC emulator computed is recomputed from
what the report shows (nonce, cnonce, nc, the profile's password) and looked for in every
output file, with the password itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.profiles import load_profile
from harness.sip.auth import digest_response, parse_credentials

ROOT = Path(__file__).resolve().parents[2]


def test_digest_responses_and_password_appear_in_no_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-q", "--profile", "reference-epcscf",
         "--select", "EPC-REG-01", "--out", str(out), "--alluredir", str(tmp_path / "allure")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    password = load_profile(ROOT / "profiles" / "reference-epcscf.yaml").password
    report = json.loads((out / "report.json").read_text())
    computed = set()
    for case in report["cases"]:
        for entry in case["evidence"]:
            raw = entry.get("data", {}).get("raw")
            for line in raw.split("\r\n") if isinstance(raw, str) else []:
                if line.startswith("Authorization: ") and "cnonce=" in line:
                    p = parse_credentials(line.removeprefix("Authorization: ")).params
                    assert p["response"].startswith("<redacted sha256:")
                    computed.add(digest_response(
                        username=p["username"], realm=p["realm"], password=password, method="REGISTER",
                        uri=p["uri"], nonce=p["nonce"], qop=p["qop"], nc=p["nc"], cnonce=p["cnonce"]))
    assert len(computed) >= 4  # the challenge responses and the later REGISTERs of both connections
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert len(files) >= 3
    leaks = [(f.name, s[:6]) for f in files for s in (*computed, password) if s in f.read_text(errors="replace")]
    assert leaks == []
