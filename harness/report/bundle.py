"""The signed evidence bundle of a run (issue 10 item 3; `wicct run --bundle`).

A bundle is a directory, and a `.zip` of it, holding the run's reports (`REPORT_FILES`,
those the run wrote), every case's full wire timeline (`timelines/<profile>/<case>.json`,
taken from report.json, secrets redacted), in the lab copy the run's TLS key log
(`tls-keys.log`, SSLKEYLOGFILE format, for Wireshark; a secret itself), `traffic.pcapng`
(harness.report.pcap: the TCP traffic of every WebSocket connection as wicct sent and read
it, TLS records included; the lab copy carries the key log in a Decryption Secrets Block so
Wireshark decrypts it as it is, the customer copy has TLS connections only and no secrets),
and `manifest.json`:
the SHA-256 and size of every file, what was left out and why, signed with Ed25519
(`manifest.sig`, the raw 64-octet signature of manifest.json's bytes, RFC 8032 via
`cryptography`). The customer copy is the same without the key log, signed too.
`harness.report.verify` checks a bundle offline.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from harness.report.identity import report_id_of
from harness.report.pcap import distinct, pcapng
from harness.ws.capture import Capture

FORMAT = "wicct-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
KEYLOG = "tls-keys.log"
TRAFFIC = "traffic.pcapng"
TIMELINES = "timelines"

REPORT_FILES = ("report.json", "report.html", "report.pdf", "junit.xml", "report.errors.txt")
"""The run's report files a bundle carries when the run wrote them (report.pdf once a run
renders one)."""

PCAPNG_OMITTED = "no traffic was recorded for this run (the capture starts with `wicct run --bundle`)"
TRAFFIC_LAB = (
    "the run's WebSocket connections as wicct's side sent and read them (TLS records as they "
    "passed its memory BIOs; ws:// in the clear), as synthetic IPv4/TCP over loopback; a "
    "Decryption Secrets Block holds the TLS key log, so Wireshark and tshark decrypt it with no "
    "other file: a secret, lab copy only"
)
TRAFFIC_CUSTOMER = (
    "the run's TLS (wss) connections as wicct's side sent and read them, as synthetic IPv4/TCP "
    "over loopback: ciphertext only, no Decryption Secrets Block and no key log (customer copy); "
    "plain ws:// connections, whose bytes are not redacted, are left out"
)
KEYLOG_SECRET = (
    "the TLS session secrets of the run (SSLKEYLOGFILE format): whoever holds this file can "
    "decrypt any capture of the run's traffic. Lab copy only; it is left out of the customer copy"
)


class BundleError(Exception):
    """A bundle could not be written (no report, an unusable key)."""


@dataclass(frozen=True)
class Written:
    directory: Path
    archive: Path
    copy: str  # "lab" | "customer"


# -- keys --------------------------------------------------------------------------------


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file (unencrypted PKCS#8); BundleError otherwise."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise BundleError(f"signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"signing key {path}: not an Ed25519 key ({type(key).__name__})")
    return key


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex: what a reader compares with the lab's published one."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


# -- writing -----------------------------------------------------------------------------


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "_"


def timelines(report: Mapping[str, Any]) -> dict[str, bytes]:
    """`timelines/<profile>/<case>.json` for every case: its full timeline as report.json
    holds it (redacted), with the case's identity and verdict."""
    files: dict[str, bytes] = {}
    for case in report.get("cases") or []:
        if not isinstance(case, Mapping):
            continue
        name = f"{TIMELINES}/{_safe(str(case.get('profile', '')))}/{_safe(str(case.get('id', '')))}.json"
        body = {
            "case": case.get("id"),
            "profile": case.get("profile"),
            "verdict": case.get("verdict"),
            "entries": case.get("evidence") or [],
        }
        files[name] = (json.dumps(body, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    return files


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(
    files: Mapping[str, bytes],
    *,
    copy: str,
    report: Mapping[str, Any],
    key: Ed25519PublicKey,
    ephemeral: bool,
    omitted: Mapping[str, str],
    traffic: Mapping[str, Any] | None = None,
) -> bytes:
    """manifest.json: what the bundle holds, each file's SHA-256 and size, which hold
    secrets, what was left out and why, what traffic.pcapng holds, and the key that signs it."""
    secrets = {KEYLOG: KEYLOG_SECRET} if KEYLOG in files else {}
    if traffic and traffic.get("decryption_secrets"):
        secrets[TRAFFIC] = TRAFFIC_LAB
    harness = report.get("harness") if isinstance(report.get("harness"), Mapping) else {}
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body = {
        "format": FORMAT,
        "copy": copy,
        "report_id": report_id_of(report),
        "report_format": report.get("format"),
        "wicct": (harness or {}).get("version"),
        "run": {"started": report.get("started"), "finished": report.get("finished")},
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "files": {name: {"sha256": sha256(data), "bytes": len(data)} for name, data in sorted(files.items())},
        "secrets": secrets,
        "redacted": "passwords, tokens and digest responses are redacted in every file but "
                    + (", ".join(sorted(secrets)) or "none"),
        "omitted": dict(omitted),
        **({"traffic": dict(traffic)} if traffic else {}),
        "signature": {
            "algorithm": "Ed25519",
            "file": SIGNATURE,
            "signs": MANIFEST,
            "public_key": base64.b64encode(raw).decode("ascii"),
            "public_key_sha256": fingerprint(key),
            "key": "ephemeral: made for this run; the signature shows integrity since signing, "
                   "not who signed" if ephemeral else "the lab's signing key",
        },
    }
    return (json.dumps(body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def write_bundle(
    run_dir: Path,
    target: Path,
    key: Ed25519PrivateKey,
    *,
    copy: str = "lab",
    keylog: Path | None = None,
    ephemeral: bool = False,
    capture: Capture | None = None,
) -> Written:
    """Write the bundle of the run in `run_dir` to the directory `target` (replaced) and
    `target.zip`. The lab copy carries `keylog` when given; the customer copy never does.
    With the run's `capture`, traffic.pcapng too (with the key log in the lab copy)."""
    report_path = run_dir / "report.json"
    try:
        report = json.loads(report_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"no readable report.json in {run_dir}: {exc}") from None
    files: dict[str, bytes] = {}
    for name in REPORT_FILES:
        if (run_dir / name).is_file():
            files[name] = (run_dir / name).read_bytes()
    files.update(timelines(report))
    omitted: dict[str, str] = {}
    if copy == "lab":
        if keylog is not None and keylog.is_file():
            files[KEYLOG] = keylog.read_bytes()
        else:
            omitted[KEYLOG] = "no TLS key log was kept for this run"
    else:
        omitted[KEYLOG] = "the customer copy leaves out the run's TLS secrets (lab copy only)"
    traffic: dict[str, Any] | None = None
    if capture is None or not capture.connections:
        omitted[TRAFFIC] = PCAPNG_OMITTED
    else:
        files[TRAFFIC], traffic = _traffic(capture, copy, files.get(KEYLOG))
    body = manifest(files, copy=copy, report=report, key=key.public_key(), ephemeral=ephemeral,
                    omitted=omitted, traffic=traffic)
    files[MANIFEST] = body
    files[SIGNATURE] = key.sign(body)

    if target.exists():
        shutil.rmtree(target)
    for name, data in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if name == KEYLOG or (name == TRAFFIC and copy == "lab"):
            path.chmod(0o600)
    archive = target.with_name(target.name + ".zip")
    tmp = archive.with_name(archive.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(f"{target.name}/{name}", files[name])
    tmp.replace(archive)
    if copy == "lab" and KEYLOG in files:
        archive.chmod(0o600)
    return Written(target, archive, copy)


def _traffic(capture: Capture, copy: str, keylog: bytes | None) -> tuple[bytes, dict[str, Any]]:
    """traffic.pcapng of the copy and what the manifest says of it: the connections it holds,
    those left out, and every byte a cap dropped (harness.ws.capture)."""
    every = distinct(capture.connections)
    kept = [c for c in every if copy == "lab" or c.tls]
    secrets = keylog if copy == "lab" else None
    cut = [
        {"connection": c.number, "local": f"{c.local[0]}:{c.local[1]}",
         "remote": f"{c.remote[0]}:{c.remote[1]}", "bytes_kept": c.kept, "bytes_dropped": c.dropped}
        for c in kept if c.dropped
    ]
    about: dict[str, Any] = {
        "file": TRAFFIC,
        "holds": TRAFFIC_LAB if copy == "lab" else TRAFFIC_CUSTOMER,
        "connections": len(kept),
        "tls_connections": sum(1 for c in kept if c.tls),
        "left_out_plain_connections": len(every) - len(kept),
        "decryption_secrets": bool(secrets),
        "caps": {"per_connection_bytes": capture.per_connection, "per_run_bytes": capture.per_run},
        "bytes_kept": sum(c.kept for c in kept),
        "bytes_dropped": sum(c.dropped for c in kept),
        "truncated_connections": cut,
    }
    if cut:
        about["dropped"] = ("past a cap, a connection's later bytes were counted, not kept: its "
                            "stream in traffic.pcapng ends early and shows no FIN")
    return pcapng(kept, capture, keylog=secrets), about


def write_both(
    run_dir: Path, target: Path, key: Ed25519PrivateKey, *, keylog: Path | None, ephemeral: bool,
    capture: Capture | None = None,
) -> list[Written]:
    """The lab copy at `target` and the customer copy at `target-customer`, both signed."""
    return [
        write_bundle(run_dir, target, key, copy="lab", keylog=keylog, ephemeral=ephemeral,
                     capture=capture),
        write_bundle(run_dir, target.with_name(target.name + "-customer"), key, copy="customer",
                     ephemeral=ephemeral, capture=capture),
    ]
