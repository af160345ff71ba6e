"""Redaction at the edges of the timeline: what becomes text only when written as JSON."""

from harness.checks import framing
from harness.evidence import REDACTED, WS_MESSAGE, Redactor, Timeline

SECRET = "s3cret-pw"


def _timeline() -> Timeline:
    redactor = Redactor()
    redactor.add(SECRET)
    return Timeline(redactor)


def test_object_reprs_keys_and_sets_are_redacted_in_json():
    timeline = _timeline()
    timeline.add(
        "runner", "note", "x",
        error=RuntimeError(f"login with {SECRET} refused"),
        by_user={SECRET: 1, (SECRET, 2): 3},
        tried={f"pw={SECRET}"},
    )
    text = repr(timeline.to_json())
    assert SECRET not in text
    assert REDACTED in text


def test_invalid_utf8_with_a_secret_stays_invalid_utf8():
    timeline = _timeline()
    payload = b"\xff\xfe " + SECRET.encode()
    timeline.add("epcscf", WS_MESSAGE, "rx", direction="rx", opcode="text", payload=payload)
    entry = timeline[1]
    assert isinstance(entry.data["payload"], bytes)
    assert SECRET.encode() not in entry.data["payload"]
    judgement = framing.text_is_utf8(list(timeline), "epcscf")
    assert judgement is not None and judgement.verdict == "FAIL"
