"""Fuzz target: redaction on append (harness/evidence.py: `Redactor`, `Timeline`).

Property: for any text or bytes (invalid UTF-8 included) around a registered secret or a
credential found by its shape (RFC 6750 §2.1 bearer token, RFC 7519 JWT, RFC 3261 §22.4
digest response), the entry appended and its report.json form never hold the secret, and
redaction never raises. Input: a secret (registered) and a text it is planted in.

    python bench/fuzz/fuzz_evidence.py -runs=1000000        # atheris
    python bench/fuzz/fuzz_evidence.py --hypothesis 10000   # hypothesis
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _runner import Property, instrumented, main  # noqa: E402

with instrumented(__name__ == "__main__"):
    from harness import evidence as ev
    from harness.evidence import REDACTED, Redactor, Timeline

NAME = "evidence"
_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _strings(value: Any) -> list[str]:
    """Every string value, and every key of the mappings the planted text keys."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict) and set(value) == {"hex"}:
        return []  # bytes that are not UTF-8, as hex: their bytes are checked in the entry
    if isinstance(value, dict):
        keys = list(value) if "nested" not in value and "direction" not in value else []
        return [*keys, *(s for v in value.values() for s in _strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def check_planted(case: tuple[str, bytes, bytes]) -> None:
    """`secret` planted in text, bytes, keys and notes never reaches the report."""
    secret, before, after = case
    redactor = Redactor()
    redactor.add(secret)
    redactor.add(secret[::-1], fingerprint=True)
    timeline = Timeline(redactor)
    planted = before + secret.encode() + after
    text = planted.decode("utf-8", "surrogateescape")
    timeline.add("wic", ev.NOTE, f"rx {text}", direction="rx", raw=planted, text=text,
                 nested={text: [planted, (text,)]}, error=ValueError(text))
    timeline.put("wic", "rx", ev.sip({"raw": planted, "start_line": text, "call_id": None}))
    report = timeline.to_json()
    json.dumps(report, ensure_ascii=False)
    for found in _strings(report):
        assert secret not in found, (secret, found)
    for entry in timeline:
        raw = entry.data["raw"]
        assert secret.encode() not in raw, (secret, raw)


def check_shapes(case: tuple[bytes, bytes, str]) -> None:
    """Credentials found by their shape are fingerprinted wherever they appear."""
    before, after, token = case
    if token.encode() in before or token.encode() in after:
        return  # the token is in the text around it too, in a form no pattern knows
    for form in (f"Authorization: Bearer {token}", f"access_token={token}",
                 f'response="{token}"'):
        data = before + b" " + form.encode() + b" " + after
        redactor = Redactor()
        text = redactor.text(data.decode("utf-8", "surrogateescape"))
        raw = redactor.value(data)
        assert token not in text and token.encode() not in raw, (form, text)
        assert "<redacted sha256:" in text


def one_input(data: bytes) -> None:
    """First byte: the secret's length; the next bytes the secret (alphanumeric, so that
    it is a secret and not a word of the stand-in), then text before and after it."""
    if len(data) < 2:
        return
    size = 8 + data[0] % 24
    secret = bytes(b for b in data[1:1 + size] if b in _ALNUM).decode()
    rest = data[1 + size:]
    if len(secret) < 8 or secret in REDACTED or secret in "<redacted sha256:>":
        return
    half = len(rest) // 2
    check_planted((secret, rest[:half], rest[half:]))
    check_shapes((rest[:half], rest[half:], secret + "x" * 8))


def seeds() -> list[bytes]:
    return [b"\x10s3cr3tPassw0rdXYZabc" + b"Authorization: Bearer \xff\xfe eyJhbGciOi.x.y",
            b"\x08abcdefgh" + b'Digest response="' + b"\x80" * 4]


_SECRETS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                   min_size=8, max_size=40)
_TEXT = st.binary(max_size=200) | st.sampled_from(
    [b"Authorization: Bearer ", b"response=\"", b"access_token=", b"eyJ", b"\xff", b"-", b"."])

PROPERTIES: list[Property] = [
    (st.binary(max_size=512), one_input),
    (st.tuples(_SECRETS, _TEXT, _TEXT), check_planted),
    (st.tuples(_TEXT, _TEXT, st.text(alphabet="ABCDEFabcdef0123456789-._~+/", min_size=16,
                                       max_size=60).filter(lambda t: t[0].isalnum()
                                                           and t[-1].isalnum())), check_shapes),
]

if __name__ == "__main__":
    sys.exit(main(NAME, one_input, seeds, PROPERTIES))
