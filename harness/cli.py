"""The `wicct` command: run the suite, list cases, list fault switches.

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

Cases and profiles default to the built-in ones shipped as package data (harness.builtin),
so `wicct run` works from any directory. `--cases DIR` adds a folder of one's own cases to
the built-in ones (`--no-builtin-cases` leaves those out); `--profile` takes a path or the
name of a built-in profile.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path

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

    lst = sub.add_parser("list", help="list the cases with their requirement ids and clauses")
    lst.add_argument("--json", action="store_true")
    _case_options(lst)

    flt = sub.add_parser("faults", help="list the reference SUTs' fault switches")
    flt.add_argument("--json", action="store_true")

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
    if args.command == "pdf":
        return cmd_pdf(args)
    return cmd_faults(args)


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
    if args.strict:
        pytest_args.append("--wicct-strict")
    if args.alluredir:
        pytest_args += ["--alluredir", args.alluredir]
    if args.jobs is not None:
        pytest_args += ["--wicct-jobs", str(args.jobs)]
    code = pytest.main(pytest_args)
    report_path = out / "report.json"
    if not report_path.exists():
        print(f"wicct: no case ran (pytest exit {int(code)}); nothing to report", file=sys.stderr)
        return 2 if int(code) in (4, 5) else 1
    report = json.loads(report_path.read_text("utf-8"))
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
            return 2  # asked for and not made: cmd_pdf said why
    except BrokenPipeError:  # `wicct run | head`: the verdicts below still decide the exit
        from harness.plugin import silence_stdout

        silence_stdout()
    summary = report.get("summary") if isinstance(report.get("summary"), dict) else {}
    bad = summary.get("FAIL", 0) + summary.get("ERROR", 0)
    if args.strict:
        bad += summary.get("INCONCLUSIVE", 0)
    if int(code) == pytest.ExitCode.INTERRUPTED:
        print("wicct: run interrupted: the report is partial", file=sys.stderr)
    setup_failures = [s for s in report.get("suts") or [] if isinstance(s, dict) and s.get("setup_failure")]
    if setup_failures:
        from harness.plugin import setup_failure_message

        for sut in setup_failures:
            print(f"wicct: {setup_failure_message(sut['profile'], sut['setup_failure'])}", file=sys.stderr)
        return 2
    # pytest's own outcome too: an interrupted run, or an error the report could not hold,
    # is not a clean run even when the (partial) report shows no FAIL or ERROR.
    return 1 if bad or not summary or int(code) != pytest.ExitCode.OK else 0


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
