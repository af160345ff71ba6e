"""The pytest plugin: YAML case files become items, one per (case, profile).

A YAML file is a case by its content, wherever it is (harness.cases.files: top-level `id`
and `verifies` keys; profiles, `*.expected.yaml` and other YAML are not collected). Two case
files with the same id are a collection error for the second. Profiles given with
`--profile` are paths or built-in names (harness.builtin); by default both reference SUTs.

Verdict → pytest outcome (docs/architecture.md "Verdicts and pytest"): PASS → passed, FAIL → failed
(an AssertionError, so Allure says "failed", not "broken"), ERROR → error (Allure
"broken"), NOT-APPLICABLE → skipped with a reason starting `NOT-APPLICABLE:`, INCONCLUSIVE
→ skipped with a reason starting `INCONCLUSIVE:` (failed under `--wicct-strict`).
Requirement ids and clauses go to `user_properties` (`<property>` in pytest's own
`--junitxml`, whose testcases are renamed `classname="wicct.<role>.<profile>"`,
`name="<case id>"`) and, with the title, description, parameters, clause links and the
cited evidence, to Allure (harness.report.allure_result, applied at the item's teardown,
after allure-pytest has set its defaults). At the end the canonical report is written to
`--wicct-out`: report.json, report.html and junit.xml (harness.report.junit, one suite per
profile), all from the one result model.

`--wicct-compact` (what `wicct run` passes, without pytest's terminal) prints one line per
case as it completes: case id, profile, verdict, time, and the reason of a non-PASS on its
own indented line.

`--wicct-jobs N` runs up to N cases at once (harness.schedule: results are taken in item
order, so outcomes and reports keep the order of a sequential run); each profile is probed
once before its first case, and a profile whose probe fails has its cases reported as not
tried (INCONCLUSIVE) and makes the session fail (`wicct run` exits 2).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
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
from harness.report import text
from harness.results import RunResult
from harness.schedule import Scheduler, default_jobs
from harness.selection import SelectionError, case_names, compile_selection
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
    progress: CompactReporter | None = None
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
    group.addoption(
        "--wicct-select",
        default=None,
        metavar="EXPR",
        help="run the cases whose id, requirement ids or profile match EXPR (pytest -k's "
        "language, matched on those names only: harness.selection)",
    )
    group.addoption(
        "--wicct-lab-info",
        default=None,
        metavar="FILE",
        help="YAML lab block for the report: lab, customer, authoriser, scope (harness.report.lab)",
    )
    group.addoption(
        "--wicct-compact",
        action="store_true",
        default=False,
        help="one line per case on stdout (id, profile, verdict, time; the reason of a "
        "non-PASS below it): what `wicct run` shows with pytest's terminal off",
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


def sut_identity(profile: Profile) -> dict[str, Any]:
    """What report.json states about the implementation under test: `implementation`
    (the profile's vendor, product, version; a reference SUT's version is the running
    wicct's), its PICS (`pics`: the features claimed) and PIXIT (`pixit`: the settings
    used, Profile.pixit)."""
    implementation = dict(profile.implementation)
    if profile.driver == "reference" and implementation and "version" not in implementation:
        from harness import __version__

        implementation["version"] = __version__
    if implementation:
        implementation = _with_runtime_components(profile, implementation)
    return {
        **({"implementation": implementation} if implementation else {}),
        "pics": profile.pics(),
        "pixit": profile.pixit(),
    }


def _with_runtime_components(profile: Profile, implementation: dict[str, Any]) -> dict[str, Any]:
    """Fill in what the driver reads at run time (`components(profile)` on its class, e.g.
    the browser driver's Chromium version): a component of the profile with the same
    product gets the version it left out; a new one is added."""
    from harness.suts.base import SutUnavailable
    from harness.suts.registry import driver_class

    try:
        read = getattr(driver_class(profile.role, profile.driver), "components", None)
    except SutUnavailable:
        return implementation
    if not callable(read):
        return implementation
    implementation = dict(implementation)
    components = [dict(c) for c in implementation.get("components", [])]
    for found in read(profile):
        found = dict(found)
        if found.pop("main", None):  # the implementation itself (e.g. Kamailio's `kamailio -v`)
            same: dict[str, Any] | None = implementation
        else:
            product = str(found.get("product", "")).lower()
            same = next((c for c in components if str(c.get("product", "")).lower().startswith(product)), None)
        if same is None:
            components.append(found)
            continue
        if found.get("version"):
            same.setdefault("version", found["version"])
            same["read_version"] = found["version"]
    return {**implementation, "components": components} if components else implementation


def version_notes(profile_id: str, implementation: dict[str, Any]) -> list[str]:
    """A note for each version the profile states that the running binary contradicts
    (`read_version`, read by the driver at run time): the report keeps both, never silently
    one. A stated version that the read one extends ("10.5.3" and "10.5.3.5-1+deb12u1") agrees."""
    notes = []
    for part in [implementation, *implementation.get("components", [])]:
        stated, read = str(part.get("version") or ""), str(part.get("read_version") or "")
        if not stated or not read or read == stated:
            continue
        if read.startswith(stated) and read[len(stated)] in ".-+~":
            continue
        notes.append(f"profile {profile_id}: the profile states {part.get('product')} version {stated}, "
                     f"the running binary reads {read} (the report shows both: version, read_version)")
    return notes


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
    state.jobs = jobs or default_jobs(profiles)
    state.run.jobs = state.jobs
    state.run.suts = [sut_info(p) for p in profiles]
    state.run.identities = {p.id: sut_identity(p) for p in profiles}
    for pid, identity in state.run.identities.items():
        state.run.notes.extend(version_notes(pid, identity.get("implementation") or {}))
    # `wicct run --select` (--wicct-select), or a pytest user's own -k
    state.run.select = config.getoption("wicct_select") or config.getoption("keyword", None) or None
    lab = config.getoption("wicct_lab_info")
    if lab:
        from harness.report.lab import for_report, load_lab_info

        try:
            state.run.lab = for_report(load_lab_info(Path(lab)))
        except yamlmarks.DocumentError as exc:
            raise pytest.UsageError(f"bad lab info: {exc}") from None
    config.stash[STATE] = state
    config.addinivalue_line("markers", "wicct: a wicct conformance case (YAML)")
    if config.getoption("wicct_compact"):
        state.progress = CompactReporter()
        config.pluginmanager.register(state.progress, "wicct-compact")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--wicct-select`: keep the cases whose own names match (harness.selection)."""
    text = config.getoption("wicct_select")
    if not text:
        return
    try:
        selection = compile_selection(text)
    except SelectionError as error:
        raise pytest.UsageError(str(error)) from None
    kept, dropped = [], []
    for item in items:
        if isinstance(item, CaseItem) and not selection.matches(
            case_names(item.case.id, item.case.verifies, item.profile.id)
        ):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


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
            _add_broken(state, _broken_case_result(self.path, exc))
            raise self.CollectError(f"malformed case: {exc}") from None
        state.run.collected.setdefault(case.id, (case.sut, tuple(case.verifies)))
        first = state.case_ids.setdefault(case.id, real)
        if first != real:
            duplicate = yamlmarks.DocumentError(
                self.path, case.line, "id", f"case id {case.id!r} is already the id of {first}"
            )
            _add_broken(state, _broken_case_result(self.path, duplicate, role=case.sut))
            raise self.CollectError(f"duplicate case: {duplicate}")
        for profile in state.profiles:
            if profile.role == case.sut:
                yield CaseItem.from_parent(self, name=f"{case.id}[{profile.id}]", case=case, profile=profile)


def _add_broken(state: WicctState, result: CaseResult) -> None:
    state.run.add(result)
    if state.progress is not None:
        state.progress.add(result.to_json())


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
    """A case's verdict as a pytest outcome; its message is `VERDICT: reason` (what
    Allure shows as the status message). `builtins` as the module, as pytest's own
    outcomes do, so that a CI's message reads `CaseFailed: FAIL: ...`."""

    __module__ = "builtins"

    def __init__(self, result: CaseResult) -> None:
        super().__init__(f"{result.verdict}: {result.reason}")
        self.result = result


class CaseFailed(CaseOutcome, AssertionError):
    """FAIL (or INCONCLUSIVE under --wicct-strict): an assertion about the SUT that did not
    hold, so allure-pytest gives the status "failed" (any other exception is "broken")."""

    __module__ = "builtins"


class HarnessError(CaseOutcome):
    """ERROR: wicct itself failed (Allure "broken")."""

    __module__ = "builtins"


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
        _name_in_pytest_junitxml(self, result)
        if state.progress is not None:
            state.progress.add(result.to_json())
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

    def teardown(self) -> None:
        if self.result is not None:
            _to_allure(self.result, self.config.stash[STATE])
            _allure_duration(self.config, self.result.duration_s)

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: str | None = None
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, CaseOutcome):
            return describe(excinfo.value.result)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"{self.case.id} [{self.profile.id}]: {self.case.title}"


def describe(result: CaseResult) -> str:
    """Domain sections instead of a traceback: the verdict, each finding, the evidence cited
    (harness.report.text, the same text as junit.xml's)."""
    return text.case_text(result.to_json())


def _name_in_pytest_junitxml(item: CaseItem, result: CaseResult) -> None:
    """Under pytest's own `--junitxml`, the testcase is `classname="wicct.<role>.<profile>"`
    and `name="<case id>"`, as in wicct's junit.xml (pytest keeps attributes set before
    it records the test's reports)."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - a pytest that moved it: keep its own names
        return
    xml = item.config.stash.get(xml_key, None)
    if xml is None:
        return
    from harness.report.junit import classname

    # the item's structured id where pytest has one (9+: the key its reports use)
    reporter = xml.node_reporter(getattr(item, "id", item.nodeid))
    reporter.add_attribute("classname", classname(result.to_json()))
    reporter.add_attribute("name", result.case_id)


def _to_allure(result: CaseResult, state: WicctState) -> None:
    """Give the case's title, description, parameters, labels, clause links and cited
    evidence to allure-pytest (a no-op without `--alluredir`). Called at teardown: allure-
    pytest overwrites title and description after setup with its defaults."""
    try:
        import allure
    except ImportError:  # pragma: no cover - allure-pytest is a dependency
        return
    from harness.report.allure_result import allure_fields

    sut = next((s.to_json() for s in state.run.suts if s.profile == result.profile), None)
    fields = allure_fields(result.to_json(), sut)
    allure.dynamic.title(fields.title)
    allure.dynamic.description(fields.description)
    for name, value, excluded in fields.parameters:
        allure.dynamic.parameter(name, value, excluded=excluded or None)
    for kind, value in fields.labels:
        allure.dynamic.label(kind, value)
    for url, name in fields.links:
        allure.dynamic.link(url, name=name)
    kinds = {"text": allure.attachment_type.TEXT, "json": allure.attachment_type.JSON}
    for name, body, kind in fields.attachments:
        allure.attach(body, name=name, attachment_type=kinds[kind])


def _allure_duration(config: pytest.Config, seconds: float) -> None:
    """allure-pytest times the item's call, which only takes the result the scheduler
    already has (0 ms): give the Allure result the case's own duration, ending now. Reaches
    allure-pytest's listener (`allure_listener`); a version without it keeps its times."""
    listener = config.pluginmanager.get_plugin("allure_listener")
    logger = getattr(listener, "allure_logger", None)
    test = logger.get_test(None) if logger is not None else None
    if test is None or not hasattr(test, "start"):
        return
    test.stop = int(time.time() * 1000)
    test.start = test.stop - round(seconds * 1000)


def _write_allure_extras(options: Any, state: WicctState) -> None:
    """categories.json (verdicts as Allure categories) and environment.properties (wicct
    and the profiles) in `--alluredir` (pytest's `config.option`)."""
    directory = getattr(options, "allure_report_dir", None)
    if not directory:
        return
    from harness import __version__
    from harness.report.allure_result import CATEGORIES

    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    (path / "categories.json").write_text(json.dumps(CATEGORIES, indent=2), encoding="utf-8")
    lines = [f"wicct={__version__}", f"wicct.report_id={state.run.report_id}"]
    for sut in state.run.suts:
        faults = f" faults={','.join(sut.faults)}" if sut.faults else ""
        lines.append(f"profile.{sut.profile}={sut.role}: {sut.name} ({sut.driver}){faults}")
    (path / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")


_COLOURS = {"PASS": "32", "FAIL": "1;31", "INCONCLUSIVE": "33", "NOT-APPLICABLE": "2", "ERROR": "1;35"}


class CompactReporter:
    """`wicct run`'s progress: one line per case on stdout as its result is taken (case
    id, profile, verdict, time), a non-PASS's reason on its own indented line (wrapped to
    the terminal's width, never cut; one line when stdout is not a terminal). Lines are
    written from hooks that run outside pytest's output capture (after an item's last
    phase, after collection). A reader that stops reading (`| head`) silences it; the run
    goes on."""

    def __init__(self) -> None:
        self.widths = (0, 0)
        self.stream = sys.stdout  # taken at configure time, before capture is resumed
        self.tty = self.stream.isatty()
        self.colour = bool(os.environ.get("FORCE_COLOR")) or (self.tty and not os.environ.get("NO_COLOR"))
        self.closed = False
        self.pending: list[Mapping[str, object]] = []

    def write(self, line: str) -> None:
        if self.closed:
            return
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (BrokenPipeError, ValueError):
            self.closed = True
            silence_stdout()

    def add(self, case: Mapping[str, object]) -> None:
        """Queue a case's lines (called while pytest may be capturing output)."""
        self.pending.append(case)

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        for case in pending:
            self.case(case)

    def case(self, case: Mapping[str, object]) -> None:
        line = text.case_line(case, *self.widths)
        verdict = str(case.get("verdict", ""))
        if self.colour and verdict in _COLOURS:
            line = line.replace(f"  {verdict} ", f"  \x1b[{_COLOURS[verdict]}m{verdict}\x1b[0m ", 1)
        self.write(line)
        if verdict != "PASS":
            width = shutil.get_terminal_size().columns if self.tty else 1_000_000
            for reason in text.indented(str(case.get("reason", "")), width=width):
                self.write(reason)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        items = [i for i in session.items if isinstance(i, CaseItem)]
        self.widths = text.widths(
            [{"id": i.case.id, "profile": i.profile.id} for i in items] + list(self.pending)
        )
        profiles = sorted({i.profile.id for i in items})
        self.write(f"wicct: {len(items)} case(s) against {', '.join(profiles) or 'no profile'}")
        self.flush()  # case files that could not be loaded: ERROR results

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        self.flush()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A collection error that is not a case file's (those are ERROR results, printed
        as cases): shown on stderr, as pytest's terminal would have."""
        if report.failed and not str(report.longrepr).startswith(("malformed case", "duplicate case")):
            print(f"wicct: collection error in {report.nodeid}:\n{report.longrepr}", file=sys.stderr)

    def pytest_sessionfinish(self) -> None:
        self.flush()


def silence_stdout() -> None:
    """Point stdout at /dev/null once its reader has gone (`wicct ... | head`), so that
    neither later writes nor the interpreter's final flush raise BrokenPipeError."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout without a descriptor
        pass


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
    write: Callable[[str], object] | None = state.progress.write if state.progress else None
    if reporter is not None:
        write = reporter.write_line
    if state.jobs > 1 and write is not None:
        for lane in state.scheduler.lanes.values():
            if lane.one_at_a_time:
                write(
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


@pytest.hookimpl(trylast=True)  # after pytest's own --junitxml: the same path gets wicct's
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    failures = _record_lanes(state)
    if state.run.cases:
        _write_allure_extras(getattr(session.config, "option", None), state)
    if failures and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # `wicct run` makes this exit 2
    if state.out is None:
        return
    ended = run_ending(state, exitstatus)  # first: it adds the cases that finished ahead
    if not state.run.cases:
        return
    state.run.finished = _dt.datetime.now(_dt.UTC)
    from harness.report.identity import suite_hash_of_paths

    state.run.suite_hash = suite_hash_of_paths(state.case_files) if state.case_files else None
    if ended:
        state.run.notes.append(ended)
    write_run_reports(state)


def run_ending(state: WicctState, exitstatus: int) -> str:
    """Why the run ended early ("" for a run that went through), for the report's notes;
    the cases that had already finished ahead of pytest's loop (harness.schedule) are
    added to the report first, so that it holds every result there is."""
    if exitstatus not in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
        return ""
    ahead = state.scheduler.finished_ahead() if state.scheduler is not None else []
    for result in ahead:
        state.run.add(result)
    also = f" (with {len(ahead)} that had finished ahead of their turn)" if ahead else ""
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        why = "run interrupted"
    else:
        why = f"run ended by an internal error: {_INTERNAL_ERRORS[-1] if _INTERNAL_ERRORS else 'see the terminal'}"
    _INTERNAL_ERRORS.clear()
    return f"{why} after {len(state.run.cases)} case(s){also}: this report is partial"


_INTERNAL_ERRORS: list[str] = []  # the last lines of pytest's INTERNALERRORs of this session


def pytest_internalerror(excrepr: Any, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """Remember what ended the run (MemoryError, a wicct bug in a hook...) for the report."""
    _INTERNAL_ERRORS.append(f"{excinfo.typename}: {str(excinfo.value)[:300]}")


def write_run_reports(state: WicctState) -> None:
    """report.json, report.html and junit.xml, whatever state the run is in: when building
    or writing the whole report fails (memory exhausted, a result that does not serialise),
    the report is written again without the cases' evidence, saying why; when that fails
    too, a report.json with the counts and the reason alone."""
    from harness.report import write_reports
    from harness.report.junit import JUNIT_NAME, write_junit

    assert state.out is not None
    try:
        # the results are redacted already (harness.cases.runner); this is the net under them
        report = run_redactor(state).value(state.run.to_json())
        state.written = write_reports(report, state.out)
    except Exception as exc:  # noqa: BLE001 - MemoryError included: the report must exist
        report = None
        why = f"the full report could not be written ({type(exc).__name__}: {str(exc)[:300]}): the cases' evidence is left out"
        try:
            slim = state.run.to_json()
            for case in slim["cases"]:
                case["evidence"] = []
                for finding in case["findings"]:
                    finding["evidence"] = []
            slim["notes"].append(why)
            report = run_redactor(state).value(slim)
            state.written = write_reports(report, state.out)
        except Exception as again:  # noqa: BLE001
            state.written = {"json": _bare_report(state, f"{why}; then {type(again).__name__}: {again}")}
            return
    state.written["junit"] = write_junit(report, state.out / JUNIT_NAME, strict=state.strict)


def _bare_report(state: WicctState, why: str) -> Path:
    """The last resort: report.json with the verdict counts, the notes and `why`."""
    assert state.out is not None
    counts: dict[str, int] = {}
    for case in state.run.cases:
        counts[str(case.verdict)] = counts.get(str(case.verdict), 0) + 1
    path = state.out / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    notes = [run_redactor(state).text(n) for n in [*state.run.notes, why]]
    path.write_text(json.dumps({"summary": {"cases": len(state.run.cases), **counts}, "notes": notes}))
    return path


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
