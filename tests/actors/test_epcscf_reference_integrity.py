"""The reference eP-CSCF's integrity-protected marking (TS 24.229 5.2.2.4), on its own:
the stage per flow, the profile's values, the WIC's own value replaced, each fault."""

from __future__ import annotations

from harness.profiles import INTEGRITY_PROTECTED
from harness.sip import SipMessage, build_request
from harness.sip.auth import parse_credentials
from harness.suts.reference.epcscf.integrity import Integrity

DIGEST = 'Digest username="alice@ims.example.test", realm="ims.example.test", nonce="", response=""'


def register(auth: str | None = DIGEST) -> SipMessage:
    headers = [("Via", "SIP/2.0/WSS a.invalid;branch=z9hG4bK1"), ("Call-ID", "c"), ("CSeq", "1 REGISTER"),
               ("From", "<sip:alice@ims.example.test>;tag=1"), ("To", "<sip:alice@ims.example.test>")]
    if auth is not None:
        headers.append(("Authorization", auth))
    return build_request("REGISTER", "sip:ims.example.test", headers)


def marks(integrity: Integrity, flow: str = "f1", auth: str | None = DIGEST) -> str | None:
    forwarded = integrity.forward(flow, register(auth))
    value = forwarded.header("Authorization")
    return None if value is None else parse_credentials(value).param("integrity-protected") or "absent"


def walk(faults: frozenset[str] = frozenset(), settings: dict[str, str] | None = None) -> list[str | None]:
    """first REGISTER, 401, challenge response, 200, later REGISTER, 200, later REGISTER."""
    logged: list[str] = []
    integrity = Integrity(settings or INTEGRITY_PROTECTED, faults, logged.append)
    seen = [marks(integrity)]
    integrity.answered("f1", 401)
    seen.append(marks(integrity))
    integrity.answered("f1", 200)
    seen += [marks(integrity), marks(integrity)]
    assert marks(integrity, flow="f2") == seen[0]  # another flow starts over
    return seen


def test_the_profile_values_per_stage():
    assert walk() == ["absent", "tls-pending", "tls-yes", "tls-yes"]
    custom = {"first": "tls-pending", "challenge_response": "tls-pending", "later": "tls-yes"}
    assert walk(settings=custom) == ["tls-pending", "tls-pending", "tls-yes", "tls-yes"]


def test_the_wic_s_own_value_is_replaced_or_removed_and_quoting_kept():
    integrity = Integrity(INTEGRITY_PROTECTED, frozenset(), lambda _: None)
    forged = DIGEST + ', integrity-protected="auth-done"'
    assert marks(integrity, auth=forged) == "absent"
    forwarded = integrity.forward("f1", register(forged)).header("Authorization") or ""
    assert forwarded.startswith('Digest username="alice@ims.example.test"') and 'nonce=""' in forwarded
    integrity.answered("f1", 401)
    assert marks(integrity, auth=forged) == "tls-pending"


def test_a_register_without_digest_credentials_is_left_alone():
    integrity = Integrity(INTEGRITY_PROTECTED, frozenset(), lambda _: None)
    integrity.answered("f1", 401)
    assert marks(integrity, auth=None) is None
    assert integrity.forward("f1", register("Bearer abc.def")).header("Authorization") == "Bearer abc.def"


def test_a_2xx_without_a_challenge_binds_nothing():
    integrity = Integrity(INTEGRITY_PROTECTED, frozenset(), lambda _: None)
    integrity.answered("f1", 200)
    assert marks(integrity) == "absent"


def test_each_fault_breaks_one_stage():
    assert walk(frozenset({"integrity_protected_no"})) == ["no", "tls-pending", "tls-yes", "tls-yes"]
    assert walk(frozenset({"integrity_on_first_register"})) == ["tls-pending", "tls-pending", "tls-yes", "tls-yes"]
    assert walk(frozenset({"no_tls_pending"})) == ["absent", "absent", "tls-yes", "tls-yes"]
    assert walk(frozenset({"no_tls_yes"})) == ["absent", "tls-pending", "tls-pending", "tls-pending"]
