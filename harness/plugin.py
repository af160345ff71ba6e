"""The pytest plugin: YAML case files become items, one per (case, profile).

A YAML file is a case by its content, wherever it is (harness.cases.files: top-level `id`
and `verifies` keys; profiles, `*.expected.yaml` and other YAML are not collected). Two case
files with the same id are a collection error for the second. Profiles given with
`--profile` are paths or built-in names (harness.builtin); by default both reference SUTs.

Verdict → pytest outcome (docs/architecture.md "Verdicts and pytest"): PASS → passed, FAIL → failed,
ERROR → error, NOT-APPLICABLE → skipped with a reason starting `NOT-APPLICABLE:`,
INCONCLUSIVE → skipped with a reason starting `INCONCLUSIVE:` (failed under
`--wicct-strict`); JUnit readers show that message on the skip, and every case also has
the `wicct.verdict` property. Requirement ids and clauses go to `user_properties` (JUnit
`<property>`) and to Allure labels. At the end the canonical report (report.json,
report.html) is written to `--wicct-out`.

`--wicct-jobs N` runs up to N cases at once (harness.schedule: results are taken in item
order, so outcomes and reports keep the order of a sequential run); each profile is probed
once before its first case, and a profile whose probe fails has its cases reported as not
tried (INCONCLUSIVE) and makes the session fail (`wicct run` exits 2).
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import TerminalRepr

from harness import builtin, yamlmarks
from harness.cases.files import is_case_file
from harness.cases.model import Case, load_case
from harness.cases.runner import error_result, run_case_sync
from harness.evidence import Redactor
from harness.pki import Pki
from harness.profiles import Profile, load_profile
from harness.results import RunResult
from harness.schedule import Scheduler, default_jobs
from harness.verdicts import CaseResult, SutInfo, Verdict

DEFAULT_PROFILES = builtin.default_profiles()


@dataclass
class WicctState:
    profiles: list[Profile]
    out: Path | None
    strict: bool
    run: RunResult = field(default_factory=RunResult)
    written: dict[str, Path] = field(default_factory=dict)
    case_ids: dict[str, Path] = field(default_factory=dict)  # case id -> its (resolved) file
    case_files: set[Path] = field(default_factory=set)  # resolved case files collected
    jobs: int = 1
    scheduler: Scheduler | None = None
    _pki: Pki | None = None

    @property
    def pki(self) -> Pki:
        if self._pki is None:
            self._pki = Pki()
        return self._pki


STATE = pytest.StashKey[WicctState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wicct", "wicct conformance cases")
    group.addoption(
        "--profile",
        action="append",
        default=[],
        metavar="PATH",
        help="SUT profile: a path, or a built-in profile's name (repeatable); "
        "default: the two reference profiles",
    )
    group.addoption("--wicct-out", default=None, metavar="DIR", help="write report.json/html here")
    group.addoption(
        "--wicct-strict",
        action="store_true",
        default=False,
        help="INCONCLUSIVE cases fail instead of being skipped",
    )
    group.addoption(
        "--wicct-jobs",
        type=int,
        default=None,
        metavar="N",
        help="run up to N cases at once (default: twice the number of cores; 1: one after another)",
    )


def check_profile(profile: Profile) -> None:
    """Profile checks beyond the schema (harness.suts.checks): driver, faults, driver_options."""
    from harness.suts.checks import check_profile as check

    check(profile)


def load_profiles(paths: list[str] | tuple[Path, ...]) -> list[Profile]:
    """Load and check profiles given as paths or built-in names (harness.builtin)."""
    profiles = []
    for path in paths:
        profile = load_profile(builtin.resolve_profile(path)[0])
        check_profile(profile)
        profiles.append(profile)
    ids = [p.id for p in profiles]
    if len(set(ids)) != len(ids):
        raise yamlmarks.DocumentError(paths[0], 0, "", f"two profiles share a file name: {ids}")
    return profiles


AUTH_FEATURES = frozenset({"digest", "web-credentials", "wwsf-identity"})


def profile_details(profile: Profile) -> dict[str, object]:
    """What the report states about a profile beyond its name: windows set shorter than
    their certification default, and the section-5 settings used (the catalogue's
    unconfirmed points: integrity-protected values, TNA fields, where the WWSF identity
    goes) when the profile claims registration features."""
    details: dict[str, object] = {}
    if windows := profile.shortened_windows():
        details["shortened_windows"] = windows
    if AUTH_FEATURES & profile.features:
        details["auth_settings"] = profile.auth.used()
    return details


def sut_info(profile: Profile) -> SutInfo:
    from harness.suts.checks import profile_warnings

    return SutInfo(
        profile=profile.id,
        role=profile.role,
        name=profile.name,
        driver=profile.driver,
        faults=profile.faults,
        insecure=not profile.tls_verify,
        details=profile_details(profile),
        warnings=tuple(profile_warnings(profile)),
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    paths = config.getoption("profile") or []
    try:
        profiles = load_profiles(paths or DEFAULT_PROFILES)
    except yamlmarks.DocumentError as exc:
        if paths:
            raise pytest.UsageError(f"bad profile: {exc}") from None
        profiles = []  # reference profiles absent: only matters if cases are collected
    out = config.getoption("wicct_out")
    state = WicctState(profiles=profiles, out=Path(out) if out else None, strict=config.getoption("wicct_strict"))
    jobs = config.getoption("wicct_jobs")
    if jobs is not None and jobs < 1:
        raise pytest.UsageError(f"--wicct-jobs must be at least 1, not {jobs}")
    state.jobs = jobs or default_jobs()
    state.run.jobs = state.jobs
    state.run.suts = [sut_info(p) for p in profiles]
    config.stash[STATE] = state
    config.addinivalue_line("markers", "wicct: a wicct conformance case (YAML)")
    if state.out is not None and not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(state.out / "junit.xml")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_case_file(file_path):
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    def collect(self):  # noqa: ANN201 - Iterator[CaseItem]
        state = self.config.stash[STATE]
        real = self.path.resolve()
        if real in state.case_files:
            return  # the same file reached twice (e.g. through a symlinked folder)
        state.case_files.add(real)
        try:
            case = load_case(self.path)
        except yamlmarks.DocumentError as exc:
            state.run.add(_broken_case_result(self.path, exc))
            raise self.CollectError(f"malformed case: {exc}") from None
        first = state.case_ids.setdefault(case.id, real)
        if first != real:
            duplicate = yamlmarks.DocumentError(
                self.path, case.line, "id", f"case id {case.id!r} is already the id of {first}"
            )
            state.run.add(_broken_case_result(self.path, duplicate, role=case.sut))
            raise self.CollectError(f"duplicate case: {duplicate}")
        for profile in state.profiles:
            if profile.role == case.sut:
                yield CaseItem.from_parent(self, name=f"{case.id}[{profile.id}]", case=case, profile=profile)


def _broken_case_result(
    path: Path, exc: yamlmarks.DocumentError, role: str | None = None
) -> CaseResult:
    """The ERROR result of a case file that cannot run (its role guessed from the path
    when the file could not be read)."""
    return CaseResult(
        case_id=path.stem,
        title="malformed case file",
        sut_role=role or ("epcscf" if "epcscf" in path.parts else "wic"),
        profile="-",
        verifies=(),
        clauses=(),
        verdict=Verdict.ERROR,
        reason=str(exc),
        findings=(),
        evidence=(),
        duration_s=0.0,
        source=f"{exc.path}:{exc.line}",
    )


def run_item(case: Case, profile: Profile, pki_source: Callable[[], Pki]) -> CaseResult:
    """Run one case; whatever escapes the runner (or making the run's PKI) becomes an ERROR
    result, so that the case is in the report and counts against the exit code."""
    started = time.monotonic()
    try:
        return run_case_sync(case, profile, pki_source())
    except Exception as exc:  # noqa: BLE001 - a wicct bug: ERROR, never a lost case
        return error_result(case, profile, exc, started)


class CaseOutcome(Exception):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.reason)
        self.result = result


class CaseFailed(CaseOutcome):
    pass


class HarnessError(CaseOutcome):
    pass


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, profile: Profile, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.profile = profile
        self.result: CaseResult | None = None
        self.add_marker(pytest.mark.wicct)

    def setup(self) -> None:
        state = self.config.stash[STATE]
        if state.scheduler is None:  # a session that did not go through the run loop
            state.scheduler = _scheduler(state)
        self.result = state.scheduler.result(self, self.case, self.profile)
        state.run.add(self.result)
        result = self.result
        self.user_properties.extend(
            [
                ("wicct.profile", self.profile.id),
                ("wicct.verdict", str(result.verdict)),
                ("wicct.requirements", " ".join(result.verifies)),
                ("wicct.clauses", " ; ".join(result.clauses)),
                ("wicct.duration_s", f"{result.duration_s:.3f}"),
            ]
        )
        for finding in result.findings:
            if finding.verdict is not Verdict.PASS:
                self.user_properties.append(
                    (f"wicct.finding.{finding.requirement}", f"{finding.verdict}: {finding.reason}")
                )
        _allure_labels(self.case, self.profile, result)
        if result.verdict is Verdict.ERROR:
            raise HarnessError(result)
        if result.verdict is Verdict.NOT_APPLICABLE:
            pytest.skip(f"{Verdict.NOT_APPLICABLE}: {result.reason}")
        if result.verdict is Verdict.INCONCLUSIVE and not state.strict:
            pytest.skip(f"{Verdict.INCONCLUSIVE}: {result.reason}")

    def runtest(self) -> None:
        assert self.result is not None
        if self.result.verdict in (Verdict.FAIL, Verdict.INCONCLUSIVE):
            raise CaseFailed(self.result)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: str | None = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, CaseOutcome):
            return describe(excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"{self.case.id} [{self.profile.id}]: {self.case.title}"


def describe(result: CaseResult) -> str:
    """Domain sections instead of a traceback: the verdict, each finding, the evidence cited."""
    entries = {e["seq"]: e for e in result.evidence}
    lines = [
        f"{result.case_id} [{result.profile}] {result.verdict}: {result.title}",
        f"  source: {result.source}",
        f"  reason: {result.reason}",
    ]
    for finding in result.findings:
        if finding.verdict is Verdict.PASS:
            continue
        lines.append(
            f"  - {finding.requirement} ({finding.strength}) {finding.verdict}: {finding.reason}"
        )
        lines.append(f"    clause: {finding.clause}")
        for seq in finding.evidence[:6]:
            entry = entries.get(seq)
            if entry:
                lines.append(f"    #{seq} {entry['actor']} {entry['direction']} {entry['summary']}")
    return "\n".join(lines)


def _allure_labels(case: Case, profile: Profile, result: CaseResult) -> None:
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    allure.dynamic.title(f"{case.id} [{profile.id}]: {case.title}")
    allure.dynamic.suite(f"{case.sut} SUT")
    allure.dynamic.parent_suite(profile.name)
    for rid in case.verifies:
        allure.dynamic.label("requirement", rid)
        allure.dynamic.tag(rid)
    allure.dynamic.description(f"{case.description}\n\nClauses: {'; '.join(result.clauses)}")


def _scheduler(state: WicctState) -> Scheduler:
    return Scheduler(
        state.jobs,
        lambda: state.pki,
        lambda case, profile: run_item(case, profile, lambda: state.pki),
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Any:
    """Start the cases that may run ahead (harness.schedule) before pytest's own loop takes
    the items in order; cancel what is left when the loop ends."""
    state = session.config.stash.get(STATE, None)
    if state is None or session.config.option.collectonly:
        yield
        return
    state.scheduler = _scheduler(state)
    work = [(item, item.case, item.profile) for item in session.items if isinstance(item, CaseItem)]
    state.scheduler.start(work)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if state.jobs > 1 and reporter is not None:
        for lane in state.scheduler.lanes.values():
            if lane.one_at_a_time:
                reporter.write_line(
                    f"wicct: profile {lane.profile.id} runs its cases one at a time: "
                    f"{lane.one_at_a_time}"
                )
    try:
        yield
    finally:
        state.scheduler.close()


def run_redactor(state: WicctState) -> Redactor:
    """Every profile's secrets, and credentials by their shape (harness.evidence): what
    leaves the run (report, terminal) goes through it, whichever case or probe wrote it."""
    return Redactor.of(secret for profile in state.profiles for secret in profile.secrets)


def _record_lanes(state: WicctState) -> list[str]:
    """Copy each profile's concurrency policy and probe outcome into the report's SUTs;
    the messages of the set-up failures (redacted: a probe's reason may quote a SUT log)."""
    if state.scheduler is None:
        return []
    failures = []
    redact = run_redactor(state).text
    suts = {s.profile: s for s in state.run.suts}
    for lane in state.scheduler.lanes.values():
        sut = suts.get(lane.profile.id)
        if sut is None:
            continue
        sut.one_at_a_time = lane.one_at_a_time
        if lane.probe_note.startswith("pre-flight probe error"):
            state.run.notes.append(redact(f"profile {lane.profile.id}: {lane.probe_note}"))
        if lane.failure is None:
            continue
        sut.setup_failure = {
            "kind": lane.failure.kind,
            "reason": redact(lane.failure_reason),
            "not_tried": lane.not_tried,
        }
        message = setup_failure_message(lane.profile.id, sut.setup_failure)
        failures.append(message)
        state.run.notes.append(message)
    return failures


def setup_failure_message(profile: str, failure: dict[str, Any]) -> str:
    """"set-up failure of profile P (kind): reason; N case(s) not tried" (CLI, report)."""
    return (
        f"set-up failure of profile {profile} ({failure['kind']}): {failure['reason']}; "
        f"{failure['not_tried']} case(s) not tried"
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    failures = _record_lanes(state)
    if failures and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # `wicct run` makes this exit 2
    if state.out is None:
        return
    if not state.run.cases:
        return
    state.run.finished = _dt.datetime.now(_dt.UTC)
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        state.run.notes.append(
            f"run interrupted after {len(state.run.cases)} case(s): this report is partial"
        )
    from harness.report import write_reports

    # the results are redacted already (harness.cases.runner); this is the net under them
    state.written = write_reports(run_redactor(state).value(state.run.to_json()), state.out)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    for sut in state.run.suts:
        if sut.setup_failure:
            terminalreporter.write_line(
                "wicct: " + setup_failure_message(sut.profile, sut.setup_failure), red=True, bold=True
            )
    if state.written:
        terminalreporter.write_line(f"wicct report: {state.written.get('html', state.out)}")


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state._pki is not None:
        state._pki.close()
