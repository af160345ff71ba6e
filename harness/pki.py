"""Test certificates made at run time with trustme (never committed).

RFC 7118 §9.1 / SEED 5.1.X.1.3: the WIC authenticates the eP-CSCF by its certificate, so
every WSS endpoint gets a leaf from a CA made for this run, and clients verify it by
default. `Pki.untrusted()` gives a second, unrelated CA for the WIC-HS-03 stimulus.
Contexts are built on demand, never at import time (docs/architecture.md principle 1).
"""

from __future__ import annotations

import ssl
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import trustme

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")

# The run's TLS key log (SSLKEYLOGFILE format, for Wireshark), set by `wicct run --bundle`
# for the run only: every context made here writes its session secrets to it.
_keylog: Path | None = None


def log_keys(path: Path | None) -> None:
    """Write the TLS secrets of every context made from now on to `path` (None: stop).
    The file is a secret: it decrypts the run's traffic (issue 10, evidence bundle)."""
    global _keylog
    _keylog = path


def keylogged(ctx: ssl.SSLContext) -> ssl.SSLContext:
    """`ctx`, writing its TLS secrets to the run's key log when one is set (`log_keys`)."""
    if _keylog is not None:
        ctx.keylog_filename = str(_keylog)
    return ctx


@dataclass(frozen=True)
class LeafFiles:
    cert_chain: Path  # leaf + CA, PEM
    key: Path


class Pki:
    """One CA with files in a private directory, and the leaves it issued."""

    def __init__(self, directory: Path | None = None, *, name: str = "wicct test CA") -> None:
        self._tmp = None
        if directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="wicct-pki-")
            directory = Path(self._tmp.name)
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name=name)
        self.ca_pem = self.directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_pem))
        self._leaves: dict[tuple[str, ...], LeafFiles] = {}
        self._lock = threading.Lock()  # cases may run on several threads (self-tests)

    def leaf(self, *names: str) -> LeafFiles:
        """A server/client certificate for `names` (default: the loopback names)."""
        names = names or LOOPBACK_NAMES
        with self._lock:
            return self._issue(names)

    def _issue(self, names: tuple[str, ...]) -> LeafFiles:
        if names not in self._leaves:
            cert = self.ca.issue_cert(*names)
            index = len(self._leaves)
            chain = self.directory / f"leaf{index}.pem"
            key = self.directory / f"leaf{index}.key"
            chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
            key.write_bytes(cert.private_key_pem.bytes())
            key.chmod(0o600)
            self._leaves[names] = LeafFiles(chain, key)
        return self._leaves[names]

    def server_context(self, *names: str) -> ssl.SSLContext:
        files = self.leaf(*names)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(files.cert_chain), str(files.key))
        return keylogged(ctx)

    def client_context(self) -> ssl.SSLContext:
        return client_context(self.ca_pem)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def client_context(ca_pem: Path | None, *, verify: bool = True) -> ssl.SSLContext:
    """A verifying client context trusting `ca_pem`; `verify=False` is the explicit insecure mode."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if ca_pem is not None:
        ctx.load_verify_locations(cafile=str(ca_pem))
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return keylogged(ctx)
