"""The SUT's side of a load run, in a process of its own: `python -m harness.load.host`.

An asyncio process (never gevent): it starts the light IMS core (`core.py`), brings the
eP-CSCF up through the profile's driver with that core as its next hop (the reference
eP-CSCF runs inside this process; Kamailio as its child, with the driver's load preset),
makes one JSEP offer and its answer with aiortc (with web credentials, starts wicct's token
issuer and mints the users' Bearer token into a private file), then writes `ready.json` into DIR (the
URL, the CA, the SUT's process id, the offer) and serves until SIGTERM or SIGINT, or until
the SUT's own process ends (exit status 3). It then stops the SUT and writes the SUT's log
(`sut.log`) and the core's counts (`core.json`).
SIGUSR1 is the restart hook (`wicct load --restart-sut-after S`): the SUT's process group is
killed as in a crash and its driver starts it again on the same ports with nothing it held
(registrations lost); `restarts.json` says when (written before the kill, completed once
the new process serves) and `ready.json` then names the new process. Only a SUT with a
process of its own and fixed ports (the `kamailio` driver) can be restarted so.
A start-up failure is written as `ready.json` with `error` (and the exit status is 2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from harness.load.core import LoadCore
from harness.pki import Pki
from harness.profiles import Profile, load_profile
from harness.suts.base import EpcscfDriver, EpcscfEnv, SutUnavailable, start_within
from harness.suts.registry import make_driver
from harness.yamlmarks import DocumentError

READY = "ready.json"
RESTARTS = "restarts.json"  # the restart hook's record: [{at, old_pid, new_pid, ready_at|error}]
BEARER = "bearer.secret"  # the Bearer token the load users register with (0600)


def load_profile_for(profile: Profile) -> Profile:
    """The profile with the driver's load preset turned on where the driver has one."""
    if profile.driver == "kamailio":
        options = {"load_preset": True, **profile.driver_options}
        return dataclasses.replace(profile, driver_options=options)
    return profile


async def _media() -> tuple[str, str]:
    """A JSEP offer and the answer to it, made once by aiortc (RFC 8829 §5.2, §5.3)."""
    from harness.sdp.jsep import make_answer, make_offer

    offer = await make_offer(("audio",))
    answer = await make_answer(offer.sdp)
    sdps = offer.sdp, answer.sdp
    await offer.close()
    await answer.close()
    return sdps


async def _until_stopped_or_dead(driver: EpcscfDriver, stop: asyncio.Event,
                                 restart: asyncio.Event | None = None) -> bool:
    """Serve until asked to stop or restart (False) or until the SUT's own process ends
    (True); then the rest of its process group goes too (workers a dead Kamailio left)."""
    process = getattr(driver, "process", None)
    waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
    if restart is not None:
        waits.append(asyncio.ensure_future(restart.wait()))
    if isinstance(process, asyncio.subprocess.Process):
        waits.append(asyncio.ensure_future(process.wait()))
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for waiting in waits:
        waiting.cancel()
    if not isinstance(process, asyncio.subprocess.Process) or process.returncode is None:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return True


def fixed_ports(driver: EpcscfDriver) -> dict[str, int] | None:
    """The driver options that start the SUT again where it was (the restart hook), None
    for a SUT that cannot be restarted so (in process, or on ports it picks itself)."""
    config = getattr(driver, "config", None)
    ports = {name: getattr(config, name, None) for name in ("wss_port", "sip_port")}
    if driver.name != "kamailio" or not all(isinstance(p, int) and p for p in ports.values()):
        return None
    return {name: int(port) for name, port in ports.items() if port}


async def restart_sut(driver: EpcscfDriver, env: EpcscfEnv, number: int,
                      record: list[dict[str, Any]], workdir: Path) -> EpcscfDriver:
    """The restart hook: the SUT's process group killed (SIGKILL, as in a crash), then a new
    driver started on the same ports; `record` (restarts.json) is written before the kill
    and completed when the new SUT serves. The driver now serving is returned."""
    process = getattr(driver, "process", None)
    ports = fixed_ports(driver)
    entry: dict[str, Any] = {"at": time.time(), "old_pid": getattr(process, "pid", None),
                             "new_pid": None}
    record.append(entry)
    if ports is None or not isinstance(process, asyncio.subprocess.Process):
        entry["error"] = f"the {driver.name} driver cannot be restarted on the same ports"
        _write_json(workdir / RESTARTS, record)
        return driver
    _write_json(workdir / RESTARTS, record)  # before the kill: the watcher sees a restart
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), 10.0)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(driver.stop(), 10.0)
    profile = dataclasses.replace(env.profile, driver_options={**env.profile.driver_options, **ports})
    again = make_driver(profile)
    assert isinstance(again, EpcscfDriver)
    renewed = dataclasses.replace(env, profile=profile, workdir=env.workdir.with_name(f"sut-{number}"))
    try:
        await start_within(again.start(renewed), profile, f"{profile.driver} eP-CSCF (restarted)")
    except SutUnavailable as exc:
        entry["error"] = f"not started again: {exc}"
        _write_json(workdir / RESTARTS, record)
        return again
    entry["new_pid"] = _sut_pid(again)[0]
    entry["ready_at"] = time.time()
    _write_json(workdir / RESTARTS, record)
    return again


def _write_json(path: Path, value: Any) -> None:
    """Written whole, then renamed: a reader never sees half a file."""
    part = path.with_suffix(".part")
    part.write_text(json.dumps(value), encoding="utf-8")
    part.replace(path)


def _sut_pid(driver: EpcscfDriver) -> tuple[int, bool]:
    """The SUT's process id and whether watching it tells the SUT's life: the driver's
    child (Kamailio), or this process for the in-process reference; an external SUT has
    none (its crash shows as connections refused)."""
    process = getattr(driver, "process", None)
    pid = getattr(process, "pid", None)
    if isinstance(pid, int):
        return pid, True
    return os.getpid(), driver.name == "reference"


async def serve(profile_path: Path, workdir: Path) -> int:
    ready = workdir / READY
    try:
        profile = load_profile_for(load_profile(profile_path))
    except (DocumentError, OSError) as exc:
        ready.write_text(json.dumps({"error": f"profile: {exc}"}))
        return 2
    if profile.role != "epcscf":
        ready.write_text(json.dumps({"error": f"load runs against an eP-CSCF; {profile.id} is a "
                                     f"{profile.role} profile"}))
        return 2
    bearer = "web-credentials" in profile.features
    offer, answer = await _media()
    # with web credentials the eP-CSCF authenticates the WIC and asserts it (TNA): the core
    # does not challenge (TS 33.203 Annex U; SEED 5.Y.1.3)
    core = LoadCore(host="127.0.0.1", realm=profile.domain, password=profile.password,
                    challenge="digest" in profile.features and not bearer, answer=answer)
    await core.start()
    pki = Pki(workdir / "pki")
    issuer = None
    if bearer:  # wicct's token issuer, the WWSF's authorization server (RFC 8898 §2.2)
        from harness.actors.token_issuer import TokenIssuer
        from harness.evidence import Timeline

        # counts only: one token is introspected for every REGISTER of a long load
        issuer = TokenIssuer(Timeline(), profile.auth.tokens, pki, record=False)
        await issuer.start()
        token = issuer.mint("valid", impi=profile.impi, impus=(profile.impu,)).token
        secret = workdir / BEARER
        secret.write_text(token, encoding="utf-8")  # a secret: read and removed by run.py
        secret.chmod(0o600)
    driver = make_driver(profile)
    if not isinstance(driver, EpcscfDriver):
        ready.write_text(json.dumps({"error": f"driver {profile.driver!r} is not an eP-CSCF driver"}))
        return 2
    log_lines: list[str] = []
    env = EpcscfEnv(profile=profile, pki=pki, core_host=core.host, core_port=core.port,
                    core_transport="tcp", workdir=workdir / "sut", log=log_lines.append,
                    issuer=issuer.endpoint() if issuer is not None else None)
    stop, restart = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, restart.set)
    status = 0
    restarts: list[dict[str, Any]] = []
    logs: list[str] = []  # the logs of the SUT's earlier lives (restart hook)
    try:
        endpoint = await start_within(driver.start(env), profile, f"{profile.driver} eP-CSCF")
        facts: dict[str, Any] = {
            "ws_url": endpoint.ws_url, "ca_pem": str(endpoint.ca_pem) if endpoint.ca_pem else None,
            "host": endpoint.host, "sut_pid": _sut_pid(driver)[0], "watched": _sut_pid(driver)[1],
            "host_pid": os.getpid(),
            "driver": profile.driver, "profile": profile.id, "offer": offer,
            "challenge": core.challenge, "bearer": bearer, "log": log_lines,
        }
        _write_json(ready, facts)
        while True:
            if await _until_stopped_or_dead(driver, stop, restart):
                status = 3  # the SUT died: its log is written now, for the run's crash report
                break
            if stop.is_set():
                break
            restart.clear()
            logs.append(driver.log_text())
            driver = await restart_sut(driver, env, len(restarts) + 1, restarts, workdir)
            facts["sut_pid"] = restarts[-1]["new_pid"] or facts["sut_pid"]
            _write_json(ready, facts)
    except SutUnavailable as exc:
        ready.write_text(json.dumps({"error": f"{exc.label} ({exc.kind}): {exc}"}))
        status = 2
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(driver.stop(), 10.0)
        core.stop()
        if issuer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(issuer.stop(), 5.0)
        (workdir / "sut.log").write_text("".join(f"{text}\n--- restarted ---\n" for text in logs)
                                         + driver.log_text(), encoding="utf-8")
        counts = dict(core.counts)
        if issuer is not None:  # the issuer's answers, beside the core's (keys say which)
            counts.update({f"issuer {k}": v for k, v in issuer.counts.items()})
        (workdir / "core.json").write_text(json.dumps(counts))
        pki.close()
    return status


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.load.host")
    parser.add_argument("--profile", required=True, type=Path)
    parser.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(serve(args.profile, args.dir))


if __name__ == "__main__":
    raise SystemExit(main())
