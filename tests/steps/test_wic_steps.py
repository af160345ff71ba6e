"""The WIC role's steps and environment: how they judge what the WIC did, and whose fault
a failure is (FAIL for the WIC, INCONCLUSIVE when a precondition never happened)."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
from pathlib import Path
from typing import Any

import pytest

from harness.cases.model import Case, load_case
from harness.cases.runner import run_case_sync
from harness.checks.handshake import origin_problems, upgrade_problems
from harness.pki import Pki
from harness.profiles import Profile, load_profile
from harness.steps.wic import env as wic_role
from harness.suts.base import DriverError, WicEnv, WicState
from harness.suts.reference.wic import ReferenceWicDriver
from harness.verdicts import CaseResult, Verdict

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "reference-wic.yaml"



def own(result: CaseResult) -> tuple:
    """The findings on the ids the case verifies (always-on monitors judge other ids too)."""
    return tuple(f for f in result.findings if f.requirement in result.verifies)


@pytest.fixture
def profile() -> Profile:
    return load_profile(PROFILE)


def case(tmp_path: Path, verifies: str, *steps: str) -> Case:
    path = tmp_path / "T-WIC.yaml"
    body = "".join(f"  - {s}\n" for s in steps)
    path.write_text(f"id: T-WIC\ntitle: t\nsut: wic\nverifies: [{verifies}]\nsteps:\n{body}")
    return load_case(path)


def run_with(driver: Any, monkeypatch: pytest.MonkeyPatch, c: Case, profile: Profile, pki: Pki) -> CaseResult:
    monkeypatch.setattr(wic_role, "wic_driver", lambda ctx: driver)
    return run_case_sync(c, profile, pki)


class TestUpgradeRequestChecks:
    """WIC-HS-01 / WIC-HS-02 on a recorded GET: every mismatch is listed."""

    def test_all_mismatches(self) -> None:
        headers = [["Connection", "keep-alive"], ["Sec-WebSocket-Version", "8"],
                   ["Sec-WebSocket-Protocol", "foo, bar"]]
        problems = upgrade_problems("POST", headers)
        assert len(problems) == 6
        assert any("offers ['foo', 'bar'], not 'sip'" in p for p in problems)

    def test_tokens_are_case_insensitive_and_listed(self) -> None:
        headers = [["upgrade", "WebSocket"], ["connection", "keep-alive, Upgrade"],
                   ["sec-websocket-version", "13"], ["Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="],
                   ["Sec-WebSocket-Protocol", "foo"], ["Sec-WebSocket-Protocol", "sip"]]
        assert upgrade_problems("GET", headers) == []

    def test_origin(self) -> None:
        assert origin_problems([["Origin", "https://a.example"]], "https://a.example") == []
        assert "expected the WWSF origin" in origin_problems([["Origin", "null"]], "https://a.example")[0]


class PageOriginWic(ReferenceWicDriver):
    """A reference WIC served from a page whose origin is only known after start, like the
    browser driver (its `origin` attribute)."""

    origin = "http://127.0.0.1:8123"
    sends = "http://127.0.0.1:8123"

    async def start(self, env: WicEnv) -> None:
        page = dataclasses.replace(env.profile, wwsf_origin=self.sends)
        await super().start(dataclasses.replace(env, profile=page))


class OtherPageWic(PageOriginWic):
    origin = "http://127.0.0.1:9999"


class BrokenVerbs(ReferenceWicDriver):
    async def register(self) -> None:
        raise DriverError("the page crashed")


class DistrustingWic(ReferenceWicDriver):
    """A WIC configured with another CA: it refuses wicct's valid certificate."""

    async def start(self, env: WicEnv) -> None:
        other = Pki(env.workdir / "other-ca", name="some other CA")
        await super().start(dataclasses.replace(env, ca_pem=other.ca_pem))


class TlsOnlyWic(BrokenVerbs):
    """Completes TLS, then never sends the upgrade request."""

    writer: asyncio.StreamWriter | None = None

    async def register(self) -> None:
        assert self._env is not None
        port = int(self._env.epcscf_url.rsplit(":", 1)[1].strip("/"))
        context = ssl.create_default_context(cafile=str(self._env.ca_pem))
        _, self.writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)

    async def stop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        await super().stop()

    async def state(self) -> WicState:
        return WicState(connected=True)


class TcpOnlyWic(TlsOnlyWic):
    """Opens TCP to wicct's eP-CSCF and sends nothing: no TLS handshake ever begins."""

    async def register(self) -> None:
        assert self._env is not None
        port = int(self._env.epcscf_url.rsplit(":", 1)[1].strip("/"))
        _, self.writer = await asyncio.open_connection("127.0.0.1", port)


class TestEnvironment:
    def test_expected_origin_is_the_driver_s(self, tmp_path: Path, profile: Profile, pki: Pki,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
        c = case(tmp_path, "WIC-HS-02", "driver.register: {}", "expect.handshake: {}")
        page = dataclasses.replace(profile, wwsf_origin="http://127.0.0.1:${page_port}")
        assert run_with(PageOriginWic(), monkeypatch, c, page, pki).verdict is Verdict.PASS
        other = run_with(OtherPageWic(), monkeypatch, c, page, pki)
        assert other.verdict is Verdict.FAIL
        assert "expected the WWSF origin 'http://127.0.0.1:9999'" in other.reason
        # without an `origin` attribute, the profile's wwsf_origin is expected
        assert run_with(ReferenceWicDriver(), monkeypatch, c, profile, pki).verdict is Verdict.PASS

    def test_sut_log_kept(self, tmp_path: Path, profile: Profile, pki: Pki,
                          monkeypatch: pytest.MonkeyPatch) -> None:
        c = case(tmp_path, "WIC-HS-01", "driver.register: {}", "expect.handshake: {}")
        result = run_with(ReferenceWicDriver(), monkeypatch, c, profile, pki)
        (log,) = [e for e in result.evidence if e["kind"] == "sut.log"]
        assert "tx REGISTER" in log["data"]["text"]

    def test_unknown_driver_is_inconclusive(self, tmp_path: Path, profile: Profile, pki: Pki) -> None:
        c = case(tmp_path, "WIC-HS-01", "driver.register: {}", "expect.handshake: {}")
        result = run_case_sync(c, dataclasses.replace(profile, driver="teleport"), pki)
        assert result.verdict is Verdict.INCONCLUSIVE and "no wic driver 'teleport'" in result.reason


class TestDriverVerbs:
    def test_a_failing_verb_is_inconclusive(self, tmp_path: Path, profile: Profile, pki: Pki,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
        c = case(tmp_path, "WIC-HS-01", "driver.register: {}", "expect.handshake: {}")
        result = run_with(BrokenVerbs(), monkeypatch, c, profile, pki)
        assert result.verdict is Verdict.INCONCLUSIVE and "the page crashed" in result.reason

    def test_unless_the_case_is_about_it(self, tmp_path: Path, profile: Profile, pki: Pki,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
        c = case(tmp_path, "WIC-HS-01", "driver.register: {on_error: fail}")
        result = run_with(BrokenVerbs(), monkeypatch, c, profile, pki)
        assert result.verdict is Verdict.FAIL and "could not register" in result.reason


class TestHandshakeVerdicts:
    def test_refusing_wicct_s_valid_certificate_is_inconclusive(
        self, tmp_path: Path, profile: Profile, pki: Pki, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        c = case(tmp_path, "WIC-HS-01", "driver.register: {}", "expect.handshake: {within: 0.5}")
        result = run_with(DistrustingWic(), monkeypatch, c, profile, pki)
        assert result.verdict is Verdict.INCONCLUSIVE
        assert "refused wicct's valid certificate" in result.reason and "unknown ca" in result.reason

    def test_tls_without_upgrade_request_fails(self, tmp_path: Path, profile: Profile, pki: Pki,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
        c = case(tmp_path, "WIC-HS-01", "driver.register: {}", "expect.handshake: {within: 0.3}")
        result = run_with(TlsOnlyWic(), monkeypatch, c, profile, pki)
        assert result.verdict is Verdict.FAIL and "no upgrade request" in result.reason

    def test_hs03_needs_an_attempt(self, tmp_path: Path, profile: Profile, pki: Pki,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
        c = case(tmp_path, "WIC-HS-03", "epcscf.certificate: {kind: untrusted}",
                 "expect.no_connection: {within: 0.2}")
        result = run_with(ReferenceWicDriver(), monkeypatch, c, profile, pki)
        assert result.verdict is Verdict.INCONCLUSIVE and "no connection attempt" in result.reason

    def test_hs03_silence_after_tcp_is_no_evidence(self, tmp_path: Path, profile: Profile, pki: Pki,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
        """A WIC that connects and sends nothing never judged the certificate: INCONCLUSIVE,
        not the PASS that silence alone gave (a hostile WIC stalling after TCP passed)."""
        fast = dataclasses.replace(profile, timers=dataclasses.replace(profile.timers, handshake_timeout=0.2))
        c = case(tmp_path, "WIC-HS-03", "epcscf.certificate: {kind: untrusted}", "driver.register: {}",
                 "expect.no_connection: {within: 0.6}")
        result = run_with(TcpOnlyWic(), monkeypatch, c, fast, pki)
        assert result.verdict is Verdict.INCONCLUSIVE, result.reason
        assert "no evidence that it judged the untrusted certificate" in result.reason

    def test_hs01_silence_after_tcp_is_not_a_refused_certificate(
        self, tmp_path: Path, profile: Profile, pki: Pki, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        fast = dataclasses.replace(profile, timers=dataclasses.replace(profile.timers, handshake_timeout=0.2))
        c = case(tmp_path, "WIC-HS-01", "driver.register: {}", "expect.handshake: {within: 0.6}")
        result = run_with(TcpOnlyWic(), monkeypatch, c, fast, pki)
        assert result.verdict is Verdict.INCONCLUSIVE, result.reason
        assert "began no TLS handshake" in result.reason and "refused" not in result.reason


def test_precondition_steps_record_no_finding(tmp_path: Path, profile: Profile, pki: Pki,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """expect.request / expect.registered are preconditions unless `on_timeout: fail`."""
    c = case(tmp_path, "WIC-TP-03", "driver.register: {}", "expect.request: {method: REGISTER}",
             "expect.registered: {}")
    result = run_with(ReferenceWicDriver(), monkeypatch, c, profile, pki)
    assert own(result) == () and result.verdict is Verdict.INCONCLUSIVE
    c = case(tmp_path, "WIC-TP-03", "driver.register: {}",
             "expect.request: {method: REGISTER, on_timeout: fail}", "expect.registered: {on_timeout: fail}")
    result = run_with(ReferenceWicDriver(), monkeypatch, c, profile, pki)
    assert result.verdict is Verdict.PASS and len(own(result)) == 2



class TestNoVacuousPass:
    """A WIC check that could not have failed is INCONCLUSIVE, not PASS."""

    def test_ack_after_a_rejection_is_not_the_ack_of_a_2xx(
        self, tmp_path: Path, profile: Profile, pki: Pki, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        c = case(tmp_path, "WIC-TP-03", "driver.register: {}", "expect.request: {method: REGISTER}",
                 "expect.registered: {}", "epcscf.policy: {method: INVITE, mode: status, status: 486}",
                 "driver.call: {}", "expect.request: {method: INVITE}", "expect.ack: {within: 1}")
        result = run_with(ReferenceWicDriver(), monkeypatch, c, profile, pki)
        assert result.verdict is Verdict.INCONCLUSIVE  # was: PASS on the ACK of the 486
        assert "no 2xx" in result.reason

    def test_unregistered_needs_a_response_to_drop(
        self, tmp_path: Path, profile: Profile, pki: Pki, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        c = case(tmp_path, "BOTH-FR-07", "epcscf.policy: {method: REGISTER, mode: withhold}",
                 "driver.register: {}", "expect.request: {method: REGISTER}", "expect.unregistered: {for: 0.3}")
        result = run_with(ReferenceWicDriver(), monkeypatch, c, profile, pki)
        assert result.verdict is Verdict.INCONCLUSIVE  # was: PASS with no evidence
        assert "no response to a REGISTER" in result.reason


def test_a_bug_in_the_emulator_callback_is_error(tmp_path: Path, profile: Profile, pki: Pki,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A wicct bug inside the WebSocket server's callback must not pass for a SUT verdict."""
    from harness.actors.epcscf_emulator import EpcscfEmulator

    async def broken(self: EpcscfEmulator, conn: Any) -> None:
        raise KeyError("wicct bug")

    monkeypatch.setattr(EpcscfEmulator, "_on_connection", broken)
    c = case(tmp_path, "WIC-HS-01", "driver.register: {}", "expect.handshake: {}")
    result = run_case_sync(c, profile, pki)
    assert result.verdict is Verdict.ERROR
    assert "wicct bug" in result.reason


class BoastingWic(BrokenVerbs):
    """Says it is registered without ever connecting: the driver's word alone."""

    async def register(self) -> None:
        return None

    async def state(self) -> WicState:
        return WicState(connected=True, registered=True)


def test_registered_on_the_driver_s_word_alone_is_no_pass(tmp_path: Path, profile: Profile, pki: Pki,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """expect.registered needs wicct's 2xx to a REGISTER on the wire, not only the driver."""
    obliged = case(tmp_path, "WIC-TP-03", "driver.register: {}",
                   "expect.registered: {on_timeout: fail}")
    result = run_with(BoastingWic(), monkeypatch, obliged, profile, pki)
    assert result.verdict is Verdict.FAIL
    assert "accepted no REGISTER" in result.reason
    precondition = case(tmp_path, "WIC-TP-03", "driver.register: {}", "expect.registered: {}")
    result = run_with(BoastingWic(), monkeypatch, precondition, profile, pki)
    assert result.verdict is Verdict.INCONCLUSIVE and own(result) == ()
