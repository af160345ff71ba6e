"""Windows come from what the requirement needs: 64 × T1 on the SUT's plausible T1 unless
the profile shortens them, and then the report says so."""

from __future__ import annotations

from pathlib import Path

from harness import builtin
from harness.cases.context import CaseContext
from harness.cases.model import load_case
from harness.cases.runner import budget
from harness.evidence import Timeline
from harness.plugin import sut_info
from harness.profiles import certification_window, load_profile
from harness.report.html import render_html


def write_profile(tmp_path: Path, timers: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(f"name: p\nrole: epcscf\ndriver: reference\ntimers:\n{timers}")
    return path


def test_the_certification_default_is_64_t1_on_a_plausible_t1(tmp_path):
    assert certification_window(0.05) == 32.0  # a 50 ms T1 claim does not shorten it
    assert certification_window(1.0) == 64.0
    profile = load_profile(write_profile(tmp_path, "  t1: 50ms\n"))
    assert profile.timers.keepalive_window == 32.0 and profile.timers.silence_window == 32.0
    assert profile.shortened_windows() == {}


def test_a_shortened_window_is_stated_in_the_report(tmp_path):
    profile = load_profile(write_profile(tmp_path, "  keepalive_window: 5s\n"))
    assert profile.shortened_windows() == {
        "keepalive_window": {"seconds": 5.0, "certification_default": 32.0}}
    info = sut_info(profile).to_json()
    assert info["details"]["shortened_windows"]["keepalive_window"]["seconds"] == 5.0
    report = {"format": "wicct-report/2", "suts": [info], "cases": [], "requirements": [],
              "summary": {"cases": 0}, "harness": {"version": "t"}}
    html = render_html(report)
    assert 'id="shortened-windows-banner"' in html and "keepalive window 5 s" in html


def test_the_reference_profiles_watch_long_enough_to_see_a_close_5_s_after_release():
    for name in ("reference-epcscf", "reference-wic"):
        profile = load_profile(builtin.profiles_dir() / f"{name}.yaml")
        assert profile.timers.keepalive_window > 5.0 and profile.timers.silence_window > 5.0


def test_a_case_s_budget_grows_by_the_windows_its_steps_watch(tmp_path, pki):
    profile = load_profile(write_profile(tmp_path, "  keepalive_window: 7s\n"))
    case_path = tmp_path / "C.yaml"
    case_path.write_text("id: C\ntitle: t\nsut: epcscf\nverifies: [EPC-KA-04]\ntimeout: 10s\nsteps:\n"
                         "  - wic.connect: {}\n  - expect.open: {}\n"
                         "  - expect.open: {for: \"${timers.keepalive_window}\"}\n  - wait: {for: 2s}\n")
    ctx = CaseContext(case=load_case(case_path), profile=profile, timeline=Timeline(), pki=pki,
                      workdir=tmp_path)
    assert budget(ctx) == 10 + 7 + 7 + 2


def test_the_report_states_the_registration_settings_used(tmp_path):
    """Unconfirmed points of catalogue section 5 are profile settings; the report says which
    value was used (the default, or the profile's)."""
    path = tmp_path / "p.yaml"
    path.write_text("name: p\nrole: epcscf\ndriver: reference\nfeatures: [digest]\n"
                    "auth:\n  integrity_protected: {later: tls-connected}\n"
                    "  wwsf_identity: {header: P-WWSF-Id, param: ''}\n")
    details = sut_info(load_profile(path)).to_json()["details"]["auth_settings"]
    assert details["integrity_protected"] == {
        "first": "absent", "challenge_response": "tls-pending", "later": "tls-connected"}
    assert details["wwsf_identity"] == {"header": "P-WWSF-Id", "param": ""}
    assert details["tna_fields"] == ["realm", "uri", "nonce", "response"]
    plain = tmp_path / "q.yaml"
    plain.write_text("name: q\nrole: epcscf\ndriver: reference\n")
    assert "auth_settings" not in sut_info(load_profile(plain)).to_json().get("details", {})
