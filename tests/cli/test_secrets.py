"""Secrets never leave a run in clear (issue 8 item 6): a small suite runs through the
`wicct` command against both reference SUTs with known passwords, tokens and a vendor's
`secrets:` entry, while digest registrations and bearer tokens cross the wire, and EVERY
output file (report.json, report.html, junit.xml, allure-results/*, the SUT logs inside
the report, the terminal output) is searched for them: none may be found.

What is searched for, and why each must have been there to redact:
- the profiles' passwords and the vendor secret (exact redaction), sent on the wire in a
  custom header by a case, so that a missing redaction would show;
- `credentials.token` (a vendor-provisioned token: exact redaction) and a token of the
  SUT's own that wicct never minted (pattern redaction of `Bearer ...`);
- every token wicct's issuer minted and every digest `response` computed in the run
  (recorded by a launcher that wraps `TokenIssuer.mint` and `digest_response`), and a
  digest response of the SUT's own (pattern redaction of `response="..."`).
For the tokens and digest responses the test also finds their fingerprints in report.json:
they were in the evidence and were replaced, not absent.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "harness" / "data" / "profiles"

PASSWORD_WIC = "wic-known-pass-7Qx"
PASSWORD_EPC = "epc-known-pass-3Zr"
VENDOR = "vendor-api-key-k8s9Vw"
PROVISIONED = "provisioned-token-Z2l2ZW5fYnlfdmVuZG9y"  # credentials.token of the eP-CSCF profile
SUT_OWN = "c3V0LW93bi10b2tlbi1uZXZlci1taW50ZWQ"  # a token wicct never minted (b64token)
SUT_DIGEST = "5f4dcc3b5aa765d61d8327deb882cf99"  # a digest response wicct never computed

LAUNCHER = """
import sys
from harness.actors import token_issuer
from harness.sip import auth

seen = open(sys.argv[1], "a", encoding="utf-8")

def _note(value):
    seen.write(value + "\\n")
    seen.flush()
    return value

_digest = auth.digest_response
auth.digest_response = lambda *a, **kw: _note(_digest(*a, **kw))
_mint = token_issuer.TokenIssuer.mint

def mint(self, *a, **kw):
    minted = _mint(self, *a, **kw)
    _note(minted.token)
    return minted

token_issuer.TokenIssuer.mint = mint
from harness.cli import main
sys.exit(main(sys.argv[2:]))
"""

EPC_CASE = {
    "id": "SECRETS-EPC",
    "title": "Credentials on the wire towards the core (secrets test)",
    "description": "Registers, then sends a MESSAGE carrying a password, a vendor secret, a provisioned "
                   "token, a bearer token and a digest response wicct never made.",
    "sut": "epcscf",
    "verifies": ["EPC-TP-02"],
    "steps": [
        {"wic.connect": {}},
        {"wic.register": {"on_timeout": "inconclusive"}},
        {"peer.send": {"method": "MESSAGE", "as": "m", "body": f"x {VENDOR}", "options": {"headers": [
            ["Authorization", f"Bearer {SUT_OWN}"],
            ["Proxy-Authorization", f'Digest username="alice", realm="r", nonce="n", uri="sip:r", '
                                    f'response="{SUT_DIGEST}"'],
            ["X-Password", "${profile.credentials.password}"],
            ["X-Provisioned", "${profile.credentials.token}"],
        ]}}},
        {"expect.response": {"to": "m", "status": "2xx"}},
    ],
}

WIC_CASE = {
    "id": "SECRETS-WIC",
    "title": "Credentials on the wire towards the WIC (secrets test)",
    "description": "The WIC registers with digest; the eP-CSCF side sends it a bearer token, "
                   "the password and a vendor secret.",
    "sut": "wic",
    "verifies": ["WIC-FR-01"],
    "steps": [
        {"driver.register": {}},
        {"expect.request": {"method": "REGISTER"}},
        {"expect.registered": {}},
        {"peer.send": {"method": "MESSAGE", "as": "m", "options": {"headers": [
            ["Authorization", f"Bearer {SUT_OWN}"],
            ["X-Password", "${profile.credentials.password}"],
            ["X-Vendor", VENDOR],
        ]}}},
        {"expect.response": {"to": "m"}},
    ],
}


def fingerprint(secret: str) -> str:
    return f"<redacted sha256:{hashlib.sha256(secret.encode()).hexdigest()[:8]}>"


def profile(tmp: Path, name: str, update: dict[str, object]) -> Path:
    document = yaml.safe_load((PROFILES / name).read_text())
    for key, value in update.items():
        if isinstance(value, dict):
            document.setdefault(key, {}).update(value)
        else:
            document[key] = value
    path = tmp / name.replace("reference", "secret")
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def outputs(*folders: Path) -> dict[Path, str]:
    """Every file under `folders`, as text (bytes that are not UTF-8 escaped, not dropped)."""
    return {
        path: path.read_bytes().decode("utf-8", "backslashreplace")
        for folder in folders for path in sorted(folder.rglob("*")) if path.is_file()
    }


def test_no_secret_in_any_output(tmp_path: Path) -> None:
    wic = profile(tmp_path, "reference-wic.yaml", {
        "credentials": {"password": PASSWORD_WIC},
        # digest: the WIC computes digest responses (a WIC claiming web-credentials would
        # register with a Bearer token instead; the eP-CSCF side mints those)
        "features": ["calls", "outbound", "crlf_pong", "digest"],
        "secrets": [VENDOR],
    })
    epc = profile(tmp_path, "reference-epcscf.yaml", {
        "credentials": {"password": PASSWORD_EPC, "token": PROVISIONED},
        "features": ["calls", "outbound", "web-credentials"],
        "secrets": [VENDOR],
    })
    cases = tmp_path / "cases"
    cases.mkdir()
    for case in (EPC_CASE, WIC_CASE):
        (cases / f"{case['id']}.yaml").write_text(yaml.safe_dump(case, sort_keys=False))
    launcher, seen = tmp_path / "launch.py", tmp_path / "seen.txt"
    launcher.write_text(LAUNCHER)
    out, allure = tmp_path / "out", tmp_path / "allure"
    proc = subprocess.run(
        [sys.executable, str(launcher), str(seen), "run", "--profile", str(wic), "--profile", str(epc),
         "--cases", str(cases), "--out", str(out), "--alluredir", str(allure),
         "--select", "SECRETS or WIC-FR-01-register or EPC-TP-02 or EPC-REG-04"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )
    report = json.loads((out / "report.json").read_text())
    verdicts = {(c["id"], c["profile"]): c["verdict"] for c in report["cases"]}
    assert len(verdicts) == 5 and set(verdicts.values()) == {"PASS"}, (verdicts, proc.stderr[-3000:])
    made = [line for line in seen.read_text().splitlines() if line]
    minted = [v for v in made if v.count(".") == 2]
    digests = [v for v in made if v not in minted]
    assert minted and digests, made  # the run did mint tokens and compute digest responses

    files = outputs(out, allure)
    assert {"report.json", "report.html", "junit.xml"} <= {p.name for p in files}
    assert any(p.parent == allure for p in files)
    files[tmp_path / "stdout"] = proc.stdout
    files[tmp_path / "stderr"] = proc.stderr
    secrets = [PASSWORD_WIC, PASSWORD_EPC, VENDOR, PROVISIONED, SUT_OWN, SUT_DIGEST, *minted, *digests]
    leaks = [(str(path), secret[:12]) for path, text in files.items() for secret in secrets if secret in text]
    assert not leaks, leaks

    # they were there, and something stands in for them
    text = (out / "report.json").read_text()
    for secret in (SUT_OWN, SUT_DIGEST, *digests):
        assert fingerprint(secret) in text, secret[:12]
    assert any(fingerprint(token) in text for token in minted)  # the one SECRETS-WIC sent
    assert text.count("<redacted>") >= 3  # the passwords and the vendor secret, exactly
    logs = [e for c in report["cases"] for e in c["evidence"] if e["kind"] == "sut.log"]
    assert logs  # the SUT logs went through the same redaction
