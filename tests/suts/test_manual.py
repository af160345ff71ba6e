"""Manual drivers with injected operator streams (a real pipe for the answers)."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.pki import Pki
from harness.profiles import Profile
from harness.suts.base import DriverError, EpcscfEnv, SutUnavailable, WicEnv
from harness.suts.manual import NO_TERMINAL, ManualEpcscfDriver, ManualWicDriver

from .conftest import HOST, Listener

URL = "wss://127.0.0.1:7443/"


class Operator:
    """The other end of the driver's terminal: reads prompts, types answers."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.reader = os.fdopen(read_fd, "r", encoding="utf-8")
        self.keyboard = os.fdopen(write_fd, "w", encoding="utf-8")
        self.screen = io.StringIO()

    @property
    def streams(self) -> tuple[io.TextIOBase, io.StringIO]:
        return self.reader, self.screen

    def type(self, text: str) -> None:
        self.keyboard.write(text)
        self.keyboard.flush()

    async def answer(self, text: str, prompt: int = 1) -> None:
        """Type `text` once the `prompt`-th prompt is on the screen."""
        deadline = time.monotonic() + 5.0
        while self.screen.getvalue().count("Press Enter") < prompt:
            assert time.monotonic() < deadline, "the driver never prompted"
            await asyncio.sleep(0.01)
        self.type(text)

    def close(self) -> None:
        if not self.keyboard.closed:
            self.keyboard.close()  # end of input: the driver's reader thread returns
        for thread in threading.enumerate():
            if thread.name == "wicct-operator-streams":
                thread.join(1.0)
        self.reader.close()


@pytest.fixture
def operator() -> Iterator[Operator]:
    person = Operator()
    yield person
    person.close()


def _wic_profile(write_profile, timeout: object = "2s") -> Profile:
    return write_profile("wic", "manual", driver_options={"prompt_timeout": timeout})


def _wic_env(profile: Profile, pki: Pki, tmp_path: Path, lines: list[str] | None = None) -> WicEnv:
    sink = lines if lines is not None else []
    return WicEnv(
        profile=profile,
        pki=pki,
        epcscf_url=URL,
        ca_pem=pki.ca_pem,
        workdir=tmp_path,
        log=sink.append,
    )


async def _started_wic(
    operator: Operator, profile: Profile, pki: Pki, tmp_path: Path
) -> ManualWicDriver:
    driver = ManualWicDriver(streams=operator.streams)
    answering = asyncio.create_task(operator.answer("\n", prompt=1))
    await driver.start(_wic_env(profile, pki, tmp_path))
    await answering
    return driver


async def test_enter_confirms_each_verb_and_state_follows(operator, write_profile, pki, tmp_path):
    driver = await _started_wic(operator, _wic_profile(write_profile), pki, tmp_path)
    start_prompt = operator.screen.getvalue()
    assert URL in start_prompt and str(pki.ca_pem) in start_prompt

    state = await driver.state()
    assert (state.registered, state.in_call) == (False, False)

    answering = asyncio.create_task(operator.answer("\n", prompt=2))
    await driver.register()
    await answering
    screen = operator.screen.getvalue()
    assert f"Make the WIC register now (eP-CSCF URL {URL}, trust the CA in {pki.ca_pem})" in screen
    state = await driver.state()
    assert state.registered and state.connected and not state.in_call
    assert state.detail == "as confirmed by the operator"

    answering = asyncio.create_task(operator.answer("yes\n", prompt=3))
    await driver.call("sip:bob@ims.example.test")
    await answering
    assert "Make the WIC call sip:bob@ims.example.test now." in operator.screen.getvalue()
    assert (await driver.state()).in_call

    answering = asyncio.create_task(operator.answer("\n", prompt=4))
    await driver.hangup()
    await answering
    assert "Hang up the current call on the WIC." in operator.screen.getvalue()
    assert not (await driver.state()).in_call

    await driver.stop()
    assert "register: confirmed by the operator" in driver.log_text()


async def test_register_done_but_not_shown_registered(operator, write_profile, pki, tmp_path):
    """BOTH-FR-07: a WIC that must drop a malformed 200 is registered as the operator sees it."""
    driver = await _started_wic(operator, _wic_profile(write_profile), pki, tmp_path)
    answering = asyncio.create_task(operator.answer("no\n", prompt=2))
    await driver.register()
    await answering
    assert "does the WIC show that it is registered?" in operator.screen.getvalue()
    state = await driver.state()
    assert state.connected and not state.registered


async def test_no_is_not_an_answer_where_nothing_is_asked(operator, write_profile, pki, tmp_path):
    driver = await _started_wic(operator, _wic_profile(write_profile, 0.5), pki, tmp_path)
    answering = asyncio.create_task(operator.answer("no\n", prompt=2))
    with pytest.raises(DriverError, match="no answer"):  # "no" was re-asked, then nothing came
        await driver.hangup()
    await answering
    assert "unclear answer 'no'" in driver.log_text()


async def test_fail_with_a_reason_is_a_driver_error(operator, write_profile, pki, tmp_path):
    driver = await _started_wic(operator, _wic_profile(write_profile), pki, tmp_path)
    answering = asyncio.create_task(operator.answer("fail no ringing on the handset\n", prompt=2))
    with pytest.raises(DriverError) as info:
        await driver.answer()
    await answering
    assert str(info.value) == "answer: the operator reports it failed: no ringing on the handset"
    assert "Answer the incoming call on the WIC." in operator.screen.getvalue()
    assert not (await driver.state()).in_call


async def test_skip_is_a_driver_error(operator, write_profile, pki, tmp_path):
    driver = await _started_wic(operator, _wic_profile(write_profile), pki, tmp_path)
    answering = asyncio.create_task(operator.answer("SKIP\n", prompt=2))
    with pytest.raises(DriverError, match=r"^register: skipped by the operator$"):
        await driver.register()
    await answering
    assert not (await driver.state()).registered


async def test_unclear_answer_is_asked_again(operator, write_profile, pki, tmp_path):
    driver = await _started_wic(operator, _wic_profile(write_profile), pki, tmp_path)
    answering = asyncio.create_task(operator.answer("what?\n", prompt=2))
    register = asyncio.create_task(driver.register())
    await answering
    await operator.answer("\n", prompt=3)  # the repeated hint counts as a prompt
    await asyncio.wait_for(register, 2.0)
    assert (await driver.state()).registered


async def test_no_answer_is_a_driver_error_after_prompt_timeout(
    operator, write_profile, pki, tmp_path
):
    driver = await _started_wic(operator, _wic_profile(write_profile, 0.3), pki, tmp_path)
    started = time.monotonic()
    with pytest.raises(DriverError, match=r"^hangup: no answer from the operator within 0.3 s$"):
        await driver.hangup()
    assert 0.3 <= time.monotonic() - started < 1.5


async def test_prompt_timeout_is_capped_by_start_timeout(operator, write_profile, pki, tmp_path):
    profile = write_profile(
        "wic", "manual", driver_options={"prompt_timeout": 120}, timers={"start_timeout": "300ms"}
    )
    lines: list[str] = []
    driver = ManualWicDriver(streams=operator.streams)
    answering = asyncio.create_task(operator.answer("\n"))
    await driver.start(_wic_env(profile, pki, tmp_path, lines))
    await answering
    assert any(
        "prompt_timeout 120 s is cut to timers.start_timeout 0.3 s" in line for line in lines
    )
    started = time.monotonic()
    with pytest.raises(DriverError, match="within 0.3 s"):
        await driver.register()
    assert time.monotonic() - started < 1.5
    assert "(0.3 s)" in operator.screen.getvalue()  # the operator is told the real limit


async def test_cancelled_wait_tells_the_operator(operator, write_profile, pki, tmp_path):
    driver = await _started_wic(operator, _wic_profile(write_profile), pki, tmp_path)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(driver.register(), 0.2)  # as the environment bounds a verb
    assert "wicct stopped waiting" in operator.screen.getvalue()


async def test_enter_typed_before_the_prompt_does_not_count(operator, write_profile, pki, tmp_path):
    driver = await _started_wic(operator, _wic_profile(write_profile, 0.4), pki, tmp_path)
    operator.type("\n")  # a stray Enter with no prompt on the screen
    await asyncio.sleep(0.2)  # let the reader thread pick it up
    with pytest.raises(DriverError, match="no answer"):
        await driver.register()
    assert "ignored (typed before the prompt)" in driver.log_text()


async def test_waiting_for_the_operator_does_not_block_the_event_loop(
    operator, write_profile, pki, tmp_path
):
    driver = await _started_wic(operator, _wic_profile(write_profile, 0.5), pki, tmp_path)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    with pytest.raises(DriverError):
        await driver.register()
    task.cancel()
    assert ticks >= 20  # ~50 in 0.5 s when the loop is free; 0 if the read blocked it


async def test_end_of_input_is_a_driver_error(operator, write_profile, pki, tmp_path):
    driver = await _started_wic(operator, _wic_profile(write_profile), pki, tmp_path)
    operator.keyboard.close()
    with pytest.raises(DriverError, match="terminal is closed"):
        await driver.register()


async def test_start_refused_by_the_operator_is_unavailable(operator, write_profile, pki, tmp_path):
    driver = ManualWicDriver(streams=operator.streams)
    answering = asyncio.create_task(operator.answer("fail: the app does not install\n"))
    with pytest.raises(
        SutUnavailable, match="start: the operator reports it failed: the app does not install"
    ):
        await driver.start(_wic_env(_wic_profile(write_profile), pki, tmp_path))
    await answering


async def test_no_terminal_at_all_is_unavailable(write_profile, pki, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a TTY, as in CI
    driver = ManualWicDriver(tty=str(tmp_path / "no-tty"))
    with pytest.raises(SutUnavailable) as info:
        await driver.start(_wic_env(_wic_profile(write_profile), pki, tmp_path))
    assert str(info.value) == NO_TERMINAL


async def test_a_file_is_not_a_terminal(write_profile, pki, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    regular = tmp_path / "not-a-tty"
    regular.write_text("\n")
    with pytest.raises(SutUnavailable, match=NO_TERMINAL):
        await ManualWicDriver(tty=str(regular)).start(
            _wic_env(_wic_profile(write_profile), pki, tmp_path)
        )


async def test_bad_prompt_timeout_is_unavailable(operator, write_profile, pki, tmp_path):
    driver = ManualWicDriver(streams=operator.streams)
    with pytest.raises(SutUnavailable, match="prompt_timeout"):
        await driver.start(_wic_env(_wic_profile(write_profile, "soon"), pki, tmp_path))


# -- eP-CSCF ---------------------------------------------------------------------------------
def _epcscf_env(write_profile, pki: Pki, tmp_path: Path, url: str, ca: str) -> EpcscfEnv:
    profile = write_profile(
        "epcscf",
        "manual",
        sut={"url": url, "ca": ca, "domain": "ims.example.test"},
        timers={"start_timeout": "2s"},
        driver_options={"prompt_timeout": "2s"},
    )
    return EpcscfEnv(
        profile=profile,
        pki=pki,
        core_host=HOST,
        core_port=5060,
        core_transport="udp",
        workdir=tmp_path,
    )


async def test_manual_epcscf_with_a_run_certificate(
    operator, write_profile, pki, tmp_path, listener: Listener
):
    url = f"wss://{HOST}:{listener.port}/"
    driver = ManualEpcscfDriver(streams=operator.streams)
    answering = asyncio.create_task(operator.answer("\n"))
    endpoint = await driver.start(_epcscf_env(write_profile, pki, tmp_path, url, "generated"))
    await answering

    screen = operator.screen.getvalue()
    leaf = pki.leaf()
    assert str(leaf.cert_chain) in screen and str(leaf.key) in screen
    assert "udp://127.0.0.1:5060" in screen and url in screen
    assert endpoint.ca_pem == pki.ca_pem
    assert (endpoint.host, endpoint.port, endpoint.ws_url) == (HOST, listener.port, url)
    await driver.stop()
    assert "done with the eP-CSCF" in operator.screen.getvalue()


async def test_manual_epcscf_still_unreachable_after_confirmation(
    operator, write_profile, pki, tmp_path, closed_port
):
    url = f"wss://{HOST}:{closed_port}/"
    driver = ManualEpcscfDriver(streams=operator.streams)
    answering = asyncio.create_task(operator.answer("\n"))
    with pytest.raises(SutUnavailable, match=f"cannot reach {url}: connection refused"):
        await driver.start(_epcscf_env(write_profile, pki, tmp_path, url, "system"))
    await answering


async def test_default_terminal_is_a_real_tty(write_profile, pki, tmp_path):
    """Through a pseudo-terminal: the path `/dev/tty` takes for an operator at a console."""
    import select

    from harness.suts import manual

    master, slave = os.openpty()
    tty = os.ttyname(slave)
    screen = b""

    async def read_until(text: bytes) -> None:
        nonlocal screen
        deadline = time.monotonic() + 5.0
        while text not in screen:
            assert time.monotonic() < deadline, f"never saw {text!r} on the terminal"
            if select.select([master], [], [], 0)[0]:
                screen += os.read(master, 4096)
            else:
                await asyncio.sleep(0.01)

    try:
        driver = ManualWicDriver(tty=tty)
        starting = asyncio.create_task(
            driver.start(_wic_env(_wic_profile(write_profile), pki, tmp_path))
        )
        await read_until(b"Press Enter")
        os.write(master, b"\n")
        await asyncio.wait_for(starting, 3.0)
        registering = asyncio.create_task(driver.register())
        await read_until(b"Make the WIC register now")
        os.write(master, b"fail no network\n")
        with pytest.raises(
            DriverError, match="register: the operator reports it failed: no network"
        ):
            await asyncio.wait_for(registering, 3.0)
    finally:
        console = manual._CONSOLES.pop(tty, None)
        os.close(master)  # the reader thread's read ends (EIO) and it returns
        os.close(slave)
        if console is not None:
            for thread in threading.enumerate():
                if thread.name == f"wicct-operator-{tty}":
                    thread.join(1.0)
            console.writer.close()
            console.reader.close()
