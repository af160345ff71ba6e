"""The `wicct` command: run the suite, list cases, list fault switches, compare runs.

`wicct run` is pytest underneath (the plugin does the work), so vendors get the same
outcomes, JUnit XML and Allure results in CI. It runs pytest with its terminal off and
prints one line per case (id, profile, verdict, time; a non-PASS's reason on its own
indented line), then a summary; `-q` leaves out the per-case lines, `-v` brings pytest's
own output back (header, a line per test, each failure's findings and evidence). The run
writes report.json, report.html and junit.xml (one suite per profile) into `--out`;
`--alluredir` adds Allure results. A reader that stops reading (`wicct faults --json |
head -1`) ends the output quietly: no traceback, and the exit code of what was done (a
run's verdicts still decide it). Exit codes: 0 no FAIL and no ERROR (and,
with --strict, no INCONCLUSIVE); 1 otherwise; 2 bad input (profile, options) before any
case ran, or a set-up failure: a profile whose SUT could not be reached or verified, whose
CA or key file is unusable, or whose fixed port is taken (its cases are reported as not
tried, the other profiles still run, the report is written). `--jobs N` runs up to N cases
at once (default: twice the number of cores).

`--bundle [DIR]` also writes the signed evidence bundle and its customer copy
(harness.report.bundle; `--signing-key FILE`, made by `wicct keygen FILE`); `wicct verify
BUNDLE` checks one offline (harness.report.verify), `wicct rejudge BUNDLE` judges its stored
evidence again (harness.report.rejudge): exit 0 verified / same verdicts, 1 not, 2 unreadable.

Cases and profiles default to the built-in ones shipped as package data (harness.builtin),
so `wicct run` works from any directory. `--cases DIR` adds a folder of one's own cases to
the built-in ones (`--no-builtin-cases` leaves those out); `--profile` takes a path or the
name of a built-in profile. `--lab-info FILE` adds a lab block to the report
(harness.report.lab; a bad file exits 2 naming the key).

`wicct diff OLD NEW` lists each verdict change between two reports (harness.report.diff;
exit 1 when one changed); `wicct matrix R1 R2 ... --out FILE` writes a requirement × SUT
matrix (harness.report.matrix).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import __version__, builtin, yamlmarks


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wicct", description="WebRTC-to-IMS conformance harness")
    parser.add_argument("--version", action="version", version=f"wicct {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the suite against one or more SUT profiles")
    run.add_argument("--profile", action="append", default=[], metavar="PATH",
                     help="SUT profile: a path, or a built-in profile's name "
                     f"({', '.join(builtin.profile_names())}); repeatable; "
                     "default: the reference profiles")
    run.add_argument("--out", metavar="DIR", help="report directory (default reports/run-<time>)")
    run.add_argument("--select", metavar="EXPR",
                     help="cases whose id, requirement ids or profile match EXPR "
                     "(and/or/not, substrings, as pytest -k; e.g. 'ORIGIN and not 03')")
    run.add_argument("--lab-info", metavar="FILE",
                     help="YAML lab block for the report: lab, customer, authoriser, scope")
    _case_options(run)
    run.add_argument("--strict", action="store_true", help="INCONCLUSIVE counts as a failure")
    run.add_argument("--alluredir", metavar="DIR", help="also write Allure results here")
    shown = run.add_mutually_exclusive_group()
    shown.add_argument("--quiet", "-q", action="store_true",
                       help="no per-case lines: the summary only")
    shown.add_argument("--verbose", "-v", action="store_true",
                       help="pytest's own output: header, a line per test, failures in detail")
    run.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                     help="run up to N cases at once (default: twice the number of cores; "
                     "1: one after another)")
    run.add_argument("--pdf", action="store_true",
                     help="also write report.pdf (printed by Debian's Chromium through Playwright)")
    run.add_argument("--pdf-appendix", action="store_true",
                     help="with --pdf: add every case's full timeline as an appendix")

    pdf = sub.add_parser("pdf", help="print a run's report.json to report.pdf in its directory")
    pdf.add_argument("report_dir", metavar="REPORT_DIR", help="the run's directory (holds report.json)")
    pdf.add_argument("--appendix", action="store_true", help="add every case's full timeline")

    run.add_argument("--bundle", nargs="?", const="", default=None, metavar="DIR",
                     help="also write a signed evidence bundle (directory and .zip; default "
                     "<out>/bundle) and its customer copy (DIR-customer)")
    run.add_argument("--signing-key", metavar="FILE",
                     help="Ed25519 private key (PEM) that signs the bundle (wicct keygen makes "
                     "one); default: a key made for the run, named ephemeral in the manifest")

    ver = sub.add_parser("verify", help="check an evidence bundle offline: signature and every file")
    ver.add_argument("bundle", metavar="BUNDLE", help="a bundle directory or its .zip")
    ver.add_argument("--public-key", metavar="FILE",
                     help="the lab's Ed25519 public key (PEM); default: the key the manifest names")

    rej = sub.add_parser("rejudge", help="judge a bundle's (or report.json's) stored evidence again")
    rej.add_argument("bundle", metavar="BUNDLE", help="a bundle directory, its .zip, or a report.json")
    rej.add_argument("--json", action="store_true")

    key = sub.add_parser("keygen", help="make an Ed25519 signing key for evidence bundles")
    key.add_argument("out", metavar="FILE", help="private key (PEM, mode 0600); FILE.pub gets the public key")

    lst = sub.add_parser("list", help="list the cases with their requirement ids and clauses")
    lst.add_argument("--json", action="store_true")
    _case_options(lst)

    flt = sub.add_parser("faults", help="list the reference SUTs' fault switches")
    flt.add_argument("--json", action="store_true")

    dif = sub.add_parser("diff", help="verdict changes between two runs (exit 1 if any)")
    dif.add_argument("old", metavar="OLD", help="report.json, or a directory holding one")
    dif.add_argument("new", metavar="NEW", help="report.json, or a directory holding one")
    dif.add_argument("--json", action="store_true")

    mtx = sub.add_parser("matrix", help="requirement x SUT matrix of several runs (HTML)")
    mtx.add_argument("reports", metavar="REPORT", nargs="+",
                     help="report.json files, or directories holding one")
    mtx.add_argument("--out", metavar="FILE", default="matrix.html",
                     help="the page to write (default matrix.html)")

    ld = sub.add_parser("load", help="load an eP-CSCF with many WICs on Locust, judging every response")
    ld.add_argument("--profile", metavar="PATH",
                    help="an eP-CSCF profile: a path or a built-in profile's name (not with --worker)")
    ld.add_argument("--users", type=_positive(int), default=10, metavar="N", help="WICs (default 10)")
    ld.add_argument("--spawn-rate", type=_positive(float), default=10.0, metavar="R",
                    help="users started per second (default 10)")
    ld.add_argument("--time", type=_positive(float), default=10.0, metavar="T",
                    help="seconds of load (default 10)")
    ld.add_argument("--scenario", choices=("register", "idle", "call", "mixed"), default="register")
    ld.add_argument("--workers", type=_jobs_or_zero, default=0, metavar="K",
                    help="Locust master and K local worker processes (default 0: one process)")
    ld.add_argument("--reregister-interval", type=float, default=1.0, metavar="S",
                    help="register scenario: seconds between re-registrations (default 1; 0: "
                    "back to back)")
    ld.add_argument("--keepalive-interval", type=float, default=2.0, metavar="S",
                    help="idle scenario: seconds between keep-alives (default 2)")
    ld.add_argument("--call-hold", type=float, default=0.5, metavar="S",
                    help="call scenario: seconds between ACK and BYE (default 0.5)")
    ld.add_argument("--master", action="store_true",
                    help="run Locust's master alone, for --expect-workers workers started "
                    "elsewhere with --worker")
    ld.add_argument("--expect-workers", type=_positive(int), default=1, metavar="K",
                    help="with --master: workers to wait for (default 1; at most 120 s)")
    ld.add_argument("--master-bind-host", default="127.0.0.1", metavar="H",
                    help="with --master: the address workers connect to (default 127.0.0.1)")
    ld.add_argument("--master-bind-port", type=_positive(int), default=5557, metavar="P",
                    help="with --master: its port (default 5557, Locust's)")
    ld.add_argument("--worker", action="store_true",
                    help="run one Locust worker for the master at --master-host: it gets the "
                    "settings from the master and sends its figures back")
    ld.add_argument("--master-host", metavar="H", help="with --worker: the master's address")
    ld.add_argument("--master-port", type=_positive(int), default=5557, metavar="P",
                    help="with --worker: the master's port (default 5557)")
    ld.add_argument("--restart-sut-after", type=_positive(float), metavar="S",
                    help="kill the SUT's process S seconds into the load and start it again on "
                    "the same ports (the kamailio driver): a test of the SUT's restart")
    ld.add_argument("--out", metavar="DIR", help="report directory (default reports/load-<time>)")

    stp = sub.add_parser("steps", help="list the step kinds and monitors cases can use")
    stp.add_argument("--json", action="store_true")
    return parser


def _case_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", action="append", default=[], metavar="DIR",
                        help="a folder of your own cases, added to the built-in ones (repeatable)")
    parser.add_argument("--no-builtin-cases", action="store_true",
                        help="leave the built-in cases out: only the --cases folders")


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
        return value

    return parse


def _jobs_or_zero(text: str) -> int:
    return 0 if text.strip() == "0" else _jobs(text)


class UsageProblem(Exception):
    """Bad command-line input found before any case ran (exit 2)."""


def case_dirs(args: argparse.Namespace) -> list[Path]:
    """The case folders to collect: the built-in one (unless --no-builtin-cases), then each
    --cases folder; a folder already inside another one is dropped."""
    wanted = [] if args.no_builtin_cases else [builtin.cases_dir()]
    for given in args.cases:
        path = Path(given)
        if not path.is_dir():
            raise UsageProblem(f"no case directory {path}")
        wanted.append(path)
    if not wanted:
        raise UsageProblem("no cases: --no-builtin-cases needs at least one --cases DIR")
    kept: list[Path] = []
    for path in wanted:
        real = path.resolve()
        if not any(real.is_relative_to(k) for k in kept):
            kept.append(real)
    return kept


def resolve_profiles(arguments: list[str]) -> list[Path]:
    """Profile files for `--profile` arguments (default: the reference profiles); says so on
    stderr when a name fell back to a built-in profile. Raises yamlmarks.DocumentError."""
    if not arguments:
        return list(builtin.default_profiles())
    paths = []
    for argument in arguments:
        path, fallback = builtin.resolve_profile(argument)
        if fallback:
            print(f"wicct: profile {argument}: using the built-in {path}", file=sys.stderr)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`| head`): what was asked was done
        from harness.plugin import silence_stdout

        silence_stdout()
        return 0
    return code


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("run", "list", "steps"):
        from harness.cases.registry import ProviderError, load_providers

        try:
            load_providers()
        except ProviderError as exc:  # a broken step provider: no case could be trusted
            print(f"wicct: {exc}", file=sys.stderr)
            return 2
    if args.command == "run":
        return cmd_run(args)
    if args.command == "list":
        return cmd_list(args)
    if args.command == "steps":
        return cmd_steps(args)
    if args.command == "verify":
        return cmd_verify(args)
    if args.command == "rejudge":
        return cmd_rejudge(args)
    if args.command == "keygen":
        return cmd_keygen(args)
    if args.command == "pdf":
        return cmd_pdf(args)
    if args.command == "diff":
        return cmd_diff(args)
    if args.command == "matrix":
        return cmd_matrix(args)
    if args.command == "load":
        return cmd_load(args)
    return cmd_faults(args)


def cmd_load(args: argparse.Namespace) -> int:
    """`wicct load`: Locust in processes of its own against the profile's eP-CSCF
    (harness.load.run); exit 0 no shall-level violation and no crash, 1 otherwise, 2 bad
    input or a SUT that did not start."""
    import importlib.util

    missing = [m for m in ("locust", "gevent", "hdrh") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"wicct: load mode needs {', '.join(missing)}: pip install -e '.[load]' "
              "(or '.[dev]')", file=sys.stderr)
        return 2
    from harness.load.run import LoadOptions, run_load, run_worker

    if args.worker:
        if not args.master_host or args.master:
            print("wicct: --worker needs --master-host (and no --master)", file=sys.stderr)
            return 2
        return run_worker(args.master_host, args.master_port)
    if not args.profile:
        print("wicct: load needs --profile (or --worker --master-host H)", file=sys.stderr)
        return 2
    try:
        profile = resolve_profiles([args.profile])[0]
    except yamlmarks.DocumentError as exc:
        print(f"wicct: {exc}", file=sys.stderr)
        return 2
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path("reports") / f"load-{stamp}"
    try:
        options = LoadOptions(profile=profile, users=args.users, spawn_rate=args.spawn_rate,
                              time_s=args.time, scenario=args.scenario, out=out, workers=args.workers,
                              reregister_interval=args.reregister_interval,
                              keepalive_interval=args.keepalive_interval, call_hold=args.call_hold,
                              restart_after=args.restart_sut_after, master=args.master,
                              expect_workers=args.expect_workers,
                              master_bind_host=args.master_bind_host,
                              master_bind_port=args.master_bind_port)
    except ValueError as exc:
        print(f"wicct: {exc}", file=sys.stderr)
        return 2
    return run_load(options)


def cmd_run(args: argparse.Namespace) -> int:
    import pytest
    from rich.console import Console

    from harness.plugin import load_profiles

    # a line too long for a log is not cut, nor a table squeezed to 80 columns
    console = Console(stderr=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    try:
        profile_paths = [str(p) for p in resolve_profiles(args.profile)]
        load_profiles(profile_paths)
    except yamlmarks.DocumentError as exc:
        print(f"wicct: bad profile: {exc}", file=sys.stderr)
        return 2
    try:
        cases = case_dirs(args)
    except UsageProblem as exc:
        print(f"wicct: {exc}", file=sys.stderr)
        return 2
    key_file = Path(args.signing_key) if args.signing_key else None
    if args.lab_info:
        from harness.report.lab import load_lab_info, signing_key_path

        try:
            lab_info = load_lab_info(Path(args.lab_info))
        except yamlmarks.DocumentError as exc:
            print(f"wicct: bad lab info: {exc}", file=sys.stderr)
            return 2
        key_file = key_file or signing_key_path(lab_info, Path(args.lab_info))  # the option first
    signing = None
    if args.bundle is not None and key_file is not None:
        from harness.report.bundle import BundleError, load_private_key

        try:
            signing = load_private_key(key_file)
        except BundleError as exc:
            print(f"wicct: {exc}", file=sys.stderr)
            return 2
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else Path("reports") / f"run-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("report.json", "report.html", "junit.xml", "report.pdf"):
        (out / stale).unlink(missing_ok=True)
    pytest_args = [
        *map(str, cases),
        "--rootdir",
        str(cases[0].parent),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",  # cases run their own event loops; pytest-asyncio is for wicct's own tests
        "--continue-on-collection-errors",
        "--wicct-out",
        str(out),  # report.json, report.html and junit.xml (harness.report.junit)
    ]
    if args.verbose:
        pytest_args += ["-o", "console_output_style=count", "--tb=short", "-v", "-rN"]
    else:
        pytest_args += ["-p", "no:terminal"]
        if not args.quiet:
            pytest_args.append("--wicct-compact")
    for path in profile_paths:
        pytest_args += ["--profile", path]
    if args.select:
        pytest_args += ["--wicct-select", args.select]
    if args.lab_info:
        pytest_args += ["--wicct-lab-info", args.lab_info]
    if args.strict:
        pytest_args.append("--wicct-strict")
    if args.alluredir:
        pytest_args += ["--alluredir", args.alluredir]
    if args.jobs is not None:
        pytest_args += ["--wicct-jobs", str(args.jobs)]
    keys = _KeyLog() if args.bundle is not None else None
    try:
        code = pytest.main(pytest_args)
    finally:
        if keys is not None:
            keys.stop()
    report_path = out / "report.json"
    if not report_path.exists():
        print(f"wicct: no case ran (pytest exit {int(code)}); nothing to report", file=sys.stderr)
        return 2 if int(code) in (4, 5) else 1
    report = json.loads(report_path.read_text("utf-8"))
    if not isinstance(report.get("cases"), list):  # the last-resort report: counts and why
        for note in report.get("notes") or []:
            print(f"wicct: {note}", file=sys.stderr)
        print(f"wicct: only the counts could be written: {report_path}", file=sys.stderr)
        return 1
    try:
        from harness.report import render_summary

        if not args.quiet:
            console.print()
        render_summary(report, console, reasons=args.quiet)
        console.print(f"report: {out / 'report.html'}  (json: {report_path}, junit: {out / 'junit.xml'})")
        if args.alluredir:
            console.print(f"allure results: {args.alluredir}")
        sys.stdout.flush()
        if (args.pdf or args.pdf_appendix) and cmd_pdf(argparse.Namespace(report_dir=out, appendix=args.pdf_appendix)):
            if keys is not None:
                keys.remove()  # no bundle without the PDF asked for
            return 2  # asked for and not made: cmd_pdf said why
    except BrokenPipeError:  # `wicct run | head`: the verdicts below still decide the exit
        from harness.plugin import silence_stdout

        silence_stdout()
    if keys is not None:
        bundled = _bundle(out, args.bundle, signing, keys)
        keys.remove()
        if not bundled:
            return 2
    summary = report.get("summary") if isinstance(report.get("summary"), dict) else {}
    bad = summary.get("FAIL", 0) + summary.get("ERROR", 0)
    if args.strict:
        bad += summary.get("INCONCLUSIVE", 0)
    if int(code) in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
        ended = [n for n in report.get("notes") or [] if "this report is partial" in str(n)]
        print(f"wicct: {ended[-1] if ended else 'run interrupted: the report is partial'}", file=sys.stderr)
    setup_failures = [s for s in report.get("suts") or [] if isinstance(s, dict) and s.get("setup_failure")]
    if setup_failures:
        from harness.plugin import setup_failure_message

        for sut in setup_failures:
            print(f"wicct: {setup_failure_message(sut['profile'], sut['setup_failure'])}", file=sys.stderr)
        return 2
    undecided = undecided_profiles(report)
    for profile, count in undecided.items():
        print(f"wicct: profile {profile}: none of its {count} case(s) could be decided (each INCONCLUSIVE "
              "or NOT-APPLICABLE): nothing was verified", file=sys.stderr)
    # pytest's own outcome too: an interrupted run, or an error the report could not hold,
    # is not a clean run even when the (partial) report shows no FAIL or ERROR.
    return 1 if bad or undecided or not summary or int(code) != pytest.ExitCode.OK else 0


def undecided_profiles(report: dict[str, Any]) -> dict[str, int]:
    """Profiles that ran cases of which none was decided: at least one INCONCLUSIVE and not
    one PASS, FAIL or ERROR. Such a run verified nothing (a SUT that stalls after TCP makes
    every case wait out its window), so it never exits 0."""
    verdicts: dict[str, list[str]] = {}
    for case in report.get("cases") or []:
        if isinstance(case, dict):
            verdicts.setdefault(str(case.get("profile", "")), []).append(str(case.get("verdict", "")))
    return {
        profile: len(seen) for profile, seen in verdicts.items()
        if "INCONCLUSIVE" in seen and not {"PASS", "FAIL", "ERROR"} & set(seen)
    }


class _KeyLog:
    """The run's TLS key log (harness.pki.log_keys), in a private directory for the run only,
    and the capture of its WebSocket traffic (harness.ws.capture)."""

    def __init__(self) -> None:
        import tempfile

        from harness import pki
        from harness.ws import capture

        self._dir = tempfile.TemporaryDirectory(prefix="wicct-keys-")
        self.path = Path(self._dir.name) / "tls-keys.log"
        self.path.touch(mode=0o600)
        pki.log_keys(self.path)
        # the bytes of every WebSocket connection, for the bundle's traffic.pcapng
        self.capture = capture.Capture()
        capture.start(self.capture)

    def stop(self) -> None:
        from harness import pki
        from harness.ws import capture

        pki.log_keys(None)
        capture.start(None)

    def remove(self) -> None:
        self._dir.cleanup()


def _bundle(out: Path, where: str, signing: Any, keys: _KeyLog) -> bool:
    """Write the lab and customer bundles of the run in `out`; say where."""
    from harness.report.bundle import BundleError, generate_key, write_both

    target = Path(where) if where else out / "bundle"
    key = signing if signing is not None else generate_key()
    try:
        written = write_both(out, target, key, keylog=keys.path, ephemeral=signing is None,
                             capture=keys.capture)
    except (BundleError, OSError) as exc:
        print(f"wicct: bundle not written: {exc}", file=sys.stderr)
        return False
    for item in written:
        print(f"bundle ({item.copy} copy): {item.directory}  (zip: {item.archive})")
    if signing is None:
        print("wicct: the bundle is signed with a key made for this run (--signing-key FILE "
              "signs it with the lab's)", file=sys.stderr)
    return True


def cmd_verify(args: argparse.Namespace) -> int:
    from harness.report.verify import BundleUnreadable, load_public_key, read_bundle, render, verify

    path = Path(args.bundle)
    try:
        key = load_public_key(Path(args.public_key)) if args.public_key else None
        files = read_bundle(path)
    except (BundleUnreadable, OSError) as exc:
        print(f"wicct: {exc}", file=sys.stderr)
        return 2
    result = verify(files, key)
    print(render(path, result))
    return 0 if result.ok else 1


def cmd_rejudge(args: argparse.Namespace) -> int:
    from harness.report import rejudge
    from harness.report.verify import BundleUnreadable, read_bundle, verify

    path = Path(args.bundle)
    try:
        if path.is_file() and path.suffix == ".json":
            files = {"report.json": path.read_bytes()}
        else:
            files = read_bundle(path)
        report = json.loads(files["report.json"].decode("utf-8"))
    except KeyError:
        print(f"wicct: {path}: no report.json in the bundle", file=sys.stderr)
        return 2
    except (BundleUnreadable, OSError, ValueError) as exc:
        print(f"wicct: {exc}", file=sys.stderr)
        return 2
    verified = True
    if "manifest.json" in files:
        checked = verify(files)
        verified = checked.ok
        state = "verified" if checked.ok else "NOT VERIFIED: " + "; ".join(checked.problems)
        print(f"bundle {state}", file=sys.stderr)
    else:
        print(f"{path}: a report.json alone, no bundle manifest: its integrity is not checked", file=sys.stderr)
    result = rejudge.rejudge(report)
    if args.json:
        print(json.dumps({"cases": result.cases, "counts": dict(result.counts), "verified": verified,
                          "findings": [vars(o) for o in result.outcomes],
                          "case_verdicts": [vars(c) for c in result.verdicts]}, indent=2))
    else:
        print(rejudge.render(result))
    return 1 if result.differences or result.case_differences or not verified else 0


def cmd_keygen(args: argparse.Namespace) -> int:
    import os

    from harness.report.bundle import fingerprint, generate_key, private_pem, public_pem

    out = Path(args.out)
    if out.exists():
        print(f"wicct: {out} exists: not overwritten", file=sys.stderr)
        return 2
    key = generate_key()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem(key))
    public = out.with_name(out.name + ".pub")
    public.write_bytes(public_pem(key.public_key()))
    print(f"signing key: {out} (keep it private); public key: {public}; "
          f"SHA-256 {fingerprint(key.public_key())}")
    return 0


def cmd_pdf(args: argparse.Namespace) -> int:
    """`wicct pdf REPORT_DIR`: report.pdf beside report.json (harness/report/pdf.py); exit 2
    with the reason when it cannot be made."""
    from harness.report.pdf import PdfError, write_pdf

    try:
        path = write_pdf(args.report_dir, appendix=args.appendix)
    except PdfError as exc:
        print(f"wicct: {exc}", file=sys.stderr)
        return 2
    print(f"pdf: {path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from harness.cases.files import discover_all
    from harness.cases.model import load_case

    try:
        paths = discover_all(case_dirs(args))
    except UsageProblem as exc:
        print(f"wicct: {exc}", file=sys.stderr)
        return 2
    rows, errors = [], []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            case = load_case(path)
        except yamlmarks.DocumentError as exc:
            errors.append(str(exc))
            continue
        first = seen.setdefault(case.id, path)
        if first != path:
            errors.append(
                f"{path}:{case.line}: id: case id {case.id!r} is already the id of {first}"
            )
            continue
        rows.append(
            {
                "id": case.id,
                "title": case.title,
                "sut": case.sut,
                "verifies": list(case.verifies),
                "clauses": list(case.clauses),
                "requires": list(case.requires),
                "file": str(path),
            }
        )
    if args.json:
        print(json.dumps({"cases": rows, "errors": errors}, indent=2))
    else:
        for row in rows:
            print(f"{row['id']:<34} {row['sut']:<7} {' '.join(row['verifies']):<28} {'; '.join(row['clauses'])}")
        for error in errors:
            print(f"ERROR {error}", file=sys.stderr)
        print(f"{len(rows)} cases", file=sys.stderr)
    return 2 if errors else 0


def cmd_faults(args: argparse.Namespace) -> int:
    from harness.suts.faults import FAULTS

    if args.json:
        print(json.dumps([f.to_json() for f in FAULTS], indent=2))
    else:
        for f in FAULTS:
            print(f"{f.role:<7} {f.name:<32} breaks {', '.join(f.breaks) or '(nothing: NON-STRICT)'}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Exit 0 when no verdict changed, 1 when one did, 2 when a report cannot be read."""
    from harness.report.diff import ReportNotFound, diff_reports, load_report, render_text

    try:
        old, old_path = load_report(Path(args.old))
        new, new_path = load_report(Path(args.new))
    except ReportNotFound as exc:
        print(f"wicct: {exc}", file=sys.stderr)
        return 2
    diff = diff_reports(old, new, old_path, new_path)
    print(json.dumps(diff, indent=2, ensure_ascii=False) if args.json else render_text(diff))
    return 1 if diff["changed"] else 0


def cmd_matrix(args: argparse.Namespace) -> int:
    from harness.report.diff import ReportNotFound, load_report
    from harness.report.matrix import Source, write_matrix

    try:
        sources = [Source(*load_report(Path(p))) for p in args.reports]
    except ReportNotFound as exc:
        print(f"wicct: {exc}", file=sys.stderr)
        return 2
    out = write_matrix(sources, Path(args.out))
    print(f"matrix: {out} ({len(sources)} report(s))")
    return 0


def cmd_steps(args: argparse.Namespace) -> int:
    from harness.cases.registry import COMMON_ARGS, load_providers

    registry = load_providers()
    steps = [
        {
            "name": kind.name,
            "args": sorted(a for a in kind.args if a not in COMMON_ARGS),
            "required": list(kind.required),
            "roles": list(kind.roles),
            "on_timeout": kind.on_timeout,
            "provider": kind.provider,
            "doc": " ".join(kind.doc.split("\n\n")[0].split()),
        }
        for kind in sorted(registry.steps.values(), key=lambda k: k.name)
    ]
    monitors = [
        {"name": m.name, "requirements": list(m.requirements), "doc": m.doc, "provider": m.provider}
        for m in sorted(registry.monitors.values(), key=lambda m: m.name)
    ]
    if args.json:
        print(json.dumps({"steps": steps, "monitors": monitors, "common_args": sorted(COMMON_ARGS),
                          "providers": list(registry.providers)}, indent=2))
        return 0
    for row in steps:
        print(f"{row['name']:<26} {row['doc']}")
        roles = " and ".join(row["roles"])
        shown = f"args: {', '.join(row['args'])}; " if row["args"] else ""
        print(f"{'':<26}   {shown}SUT: {roles}; on timeout: {row['on_timeout']}")
    print(f"\nevery step also takes: {', '.join(sorted(COMMON_ARGS))}\n")
    for row in monitors:
        print(f"monitor {row['name']:<18} {', '.join(row['requirements'])}: {row['doc']}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
