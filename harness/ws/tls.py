"""TLS facts for evidence (RFC 7118 §5 / §9.1: WSS, the WIC authenticates the eP-CSCF).

Reads what an established `ssl.SSLObject` negotiated, and turns a failed handshake into a
short error text. Builds no context (contexts come from `harness.pki`).
"""

from __future__ import annotations

import re
import ssl
from typing import Any, TypedDict

from harness.evidence import TlsData

_SSL_C_SUFFIX = re.compile(r"\s*\(_ssl\.c:\d+\)$")


def error_text(exc: BaseException) -> str:
    """`[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ...` without the
    `(_ssl.c:1006)` tail; the exception type when it has no message."""
    text = _SSL_C_SUFFIX.sub("", str(exc)).strip()
    return text or type(exc).__name__


def error_data(exc: BaseException) -> TlsData:
    """`TLS` entry data for a handshake that failed with `exc`."""
    data: TlsData = {"error": error_text(exc), "exception": type(exc).__name__}
    if isinstance(exc, ssl.SSLError):
        data["reason"] = exc.reason
    if isinstance(exc, ssl.SSLCertVerificationError):
        data["verify_code"] = exc.verify_code
        data["verify_message"] = exc.verify_message
    return data


def _name(cert: Any, attr: str) -> str | None:
    value = getattr(cert, attr, None)
    return value.rfc4514_string() if value is not None else None


class PeerCertificate(TypedDict):
    """The peer's certificate in `TlsData` (RFC 7118 §9.1: the WIC authenticates it)."""

    peer_cert_subject: str | None
    peer_cert_issuer: str | None
    peer_cert_san: list[str]


def peer_certificate(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> PeerCertificate:
    """Subject, issuer and SANs of the peer's certificate, or Nones when it sent none."""
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return {"peer_cert_subject": None, "peer_cert_issuer": None, "peer_cert_san": []}
    from cryptography import x509  # trustme's dependency; imported only when needed

    cert = x509.load_der_x509_certificate(der)
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        san = [str(v) for v in ext.value.get_values_for_type(x509.DNSName)]
        san += [str(v) for v in ext.value.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        san = []
    return {
        "peer_cert_subject": _name(cert, "subject"),
        "peer_cert_issuer": _name(cert, "issuer"),
        "peer_cert_san": san,
    }


def facts(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> TlsData:
    """`TLS` entry data for an established connection."""
    if ssl_object is None:
        return {"error": "no TLS session"}
    cipher = ssl_object.cipher()
    peer = peer_certificate(ssl_object)
    return {
        "version": ssl_object.version(),
        "cipher": cipher[0] if cipher else None,
        "cipher_bits": cipher[2] if cipher else None,
        "alpn": ssl_object.selected_alpn_protocol(),
        "server_hostname": ssl_object.server_hostname,
        "error": None,
        "peer_cert_subject": peer["peer_cert_subject"],
        "peer_cert_issuer": peer["peer_cert_issuer"],
        "peer_cert_san": peer["peer_cert_san"],
    }


def summary(data: TlsData) -> str:
    """The `TLS` entry's summary: version and cipher, or the failure."""
    if data["error"]:
        return f"tls failed: {data['error']}"
    peer = f" peer {data['peer_cert_subject']}" if data.get("peer_cert_subject") else ""
    return f"tls {data.get('version')} {data.get('cipher')}{peer}"
