"""`wicct verify BUNDLE`: check an evidence bundle offline (issue 10 item 3).

A bundle (`harness.report.bundle`, a directory or its `.zip`) verifies when its
manifest.json carries a valid Ed25519 signature (`manifest.sig`) by the public key given
(`--public-key FILE`, PEM) or, without one, the key the manifest names, and every file
has the SHA-256 and size the manifest lists, with no file missing and none added. Every
problem names the file it is about.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from harness.report.bundle import MANIFEST, SIGNATURE, fingerprint


class BundleUnreadable(Exception):
    """Not a bundle: no such directory or zip, or a zip that does not open."""


@dataclass(frozen=True)
class Verification:
    problems: tuple[str, ...]
    manifest: Mapping[str, Any]
    key_sha256: str  # of the key the signature was checked with
    key_given: bool  # --public-key, rather than the key the manifest names
    files: int

    @property
    def ok(self) -> bool:
        return not self.problems


def read_bundle(path: Path) -> dict[str, bytes]:
    """The bundle's files by their name inside it (a zip's top folder taken off)."""
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
    if path.is_file() and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if not n.endswith("/")]
                tops = {n.split("/", 1)[0] for n in names}
                strip = len(tops) == 1 and all("/" in n for n in names)
                return {(n.split("/", 1)[1] if strip else n): zf.read(n) for n in names}
        except (zipfile.BadZipFile, OSError) as exc:
            raise BundleUnreadable(f"{path}: the zip does not read: {exc}") from None
    raise BundleUnreadable(f"{path}: not a bundle directory or .zip")


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (a private key's PEM gives its public half)."""
    data = path.read_bytes()
    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise BundleUnreadable(f"public key {path}: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise BundleUnreadable(f"public key {path}: not an Ed25519 key")
    return key


def verify(files: Mapping[str, bytes], public_key: Ed25519PublicKey | None = None) -> Verification:
    """Check a bundle's files: the signature over manifest.json, then each listed file."""
    problems: list[str] = []
    body = files.get(MANIFEST)
    signature = files.get(SIGNATURE)
    if body is None:
        return Verification((f"{MANIFEST}: missing: nothing can be verified",), {}, "", False, len(files))
    try:
        manifest = json.loads(body.decode("utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (UnicodeDecodeError, ValueError) as exc:
        return Verification((f"{MANIFEST}: altered: not a readable manifest ({exc})",), {}, "", False, len(files))

    key = public_key
    if key is None:
        try:
            raw = base64.b64decode(manifest["signature"]["public_key"], validate=True)
            key = Ed25519PublicKey.from_public_bytes(raw)
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{MANIFEST}: names no usable public key ({exc}); give one with --public-key")
    if signature is None:
        problems.append(f"{SIGNATURE}: missing: the manifest is not signed")
    elif key is not None:
        try:
            key.verify(signature, body)
        except InvalidSignature:
            problems.append(
                f"{MANIFEST}, {SIGNATURE}: one is altered: the signature does not verify "
                f"with the key {fingerprint(key)[:16]}… (the manifest or its signature was changed, "
                "or another key signed it)"
            )

    given = manifest.get("files")
    listed: dict[str, Any] = given if isinstance(given, dict) else {}
    for name, facts in sorted(listed.items()):
        data = files.get(name)
        if data is None:
            problems.append(f"{name}: missing from the bundle")
            continue
        digest = hashlib.sha256(data).hexdigest()
        if not isinstance(facts, dict) or digest != facts.get("sha256") or len(data) != facts.get("bytes"):
            problems.append(f"{name}: altered: its SHA-256 is {digest}, the manifest says "
                            f"{facts.get('sha256') if isinstance(facts, dict) else facts}")
    for name in sorted(set(files) - set(listed) - {MANIFEST, SIGNATURE}):
        problems.append(f"{name}: added: not in the manifest")
    return Verification(tuple(problems), manifest, fingerprint(key) if key else "", public_key is not None,
                        len(listed))


def render(path: Path, result: Verification) -> str:
    """What `wicct verify` prints."""
    if not result.ok:
        return "\n".join([f"{path}: NOT VERIFIED", *(f"  {p}" for p in result.problems)])
    source = "the given public key" if result.key_given else "the public key the manifest names"
    lines = [
        f"{path}: verified: {result.files} files match the signed manifest",
        f"  copy: {result.manifest.get('copy')}; report id: {result.manifest.get('report_id')}",
        f"  signed with Ed25519 by {source}, SHA-256 {result.key_sha256}",
    ]
    if not result.key_given:
        lines.append("  (compare that fingerprint with the lab's published key, or pass --public-key)")
    kind = (result.manifest.get("signature") or {}).get("key", "")
    if str(kind).startswith("ephemeral"):
        lines.append(f"  key: {kind}")
    for name, why in (result.manifest.get("secrets") or {}).items():
        lines.append(f"  SECRET {name}: {why}")
    for name, why in (result.manifest.get("omitted") or {}).items():
        lines.append(f"  left out {name}: {why}")
    return "\n".join(lines)
