"""Shared command line of the fuzz targets in bench/fuzz/ (issue 11, item 4).

Each target module defines `NAME`, `one_input(data: bytes) -> None` (the coverage-guided
entry point: it raises only on a defect), `seeds() -> list[bytes]` (the starting corpus) and
`PROPERTIES`, the hypothesis tests. `main()` runs either

    python bench/fuzz/fuzz_sip.py -runs=1000000 [libFuzzer flags] [corpus dirs]   # atheris
    python bench/fuzz/fuzz_sip.py --hypothesis 10000                               # hypothesis

and prints the figures: inputs run, time, exec/s, crashes found. atheris comes from the
`fuzz` extra (`pip install -e '.[fuzz]'`); without it only `--hypothesis` runs. Outside CI:
tests/fuzz/ runs a few hundred inputs of each target so that they cannot rot.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy

REPO = Path(__file__).resolve().parents[2]

# (strategy, check): check(value) raises only on a defect
Property = tuple[SearchStrategy[Any], Callable[[Any], None]]


def figures(name: str, engine: str, runs: int, seconds: float, crashes: int) -> str:
    rate = runs / seconds if seconds > 0 else 0.0
    return (f"[{name}] {engine}: {runs} inputs in {seconds:.1f} s ({rate:.0f} exec/s), "
            f"{crashes} crash(es)")


def run_properties(name: str, properties: Sequence[Property], examples: int) -> int:
    """Run every hypothesis property of a target with `examples` examples each; 1 if any
    failed (hypothesis prints the shrunk input), else 0."""
    crashes = 0
    calls = [0]
    start = time.perf_counter()
    for strategy, check in properties:
        test = _counted(check, calls)
        configured = settings(max_examples=examples, deadline=None, database=None,
                              suppress_health_check=list(HealthCheck))(given(strategy)(test))
        try:
            configured()
        except Exception:
            crashes += 1
            traceback.print_exc()
    print(figures(name, "hypothesis", calls[0], time.perf_counter() - start, crashes), flush=True)
    return 1 if crashes else 0


def _counted(check: Callable[[Any], None], calls: list[int]) -> Callable[[Any], None]:
    def test(value: Any) -> None:
        calls[0] += 1
        check(value)

    return test


def instrumented(active: bool) -> contextlib.AbstractContextManager[Any]:
    """atheris' coverage instrumentation of the modules imported inside, when the target
    runs under atheris (`active`); nothing otherwise (tests, --hypothesis)."""
    if active and "--hypothesis" not in sys.argv:
        try:
            import atheris
        except ImportError:
            return contextlib.nullcontext()
        return atheris.instrument_imports(include=["harness"])  # type: ignore[no-any-return]
    return contextlib.nullcontext()


def run_atheris(name: str, one_input: Callable[[bytes], None], seeds: list[bytes],
                argv: list[str]) -> None:
    """libFuzzer over `one_input`, with the target's seeds as the corpus when none is given."""
    try:
        import atheris
    except ImportError:
        sys.exit(f"{name}: atheris is not installed (pip install -e '.[fuzz]'); "
                 "use --hypothesis N")
    if not any(not arg.startswith("-") for arg in argv[1:]):
        corpus = Path(tempfile.mkdtemp(prefix=f"wicct-{name}-"))
        for i, seed in enumerate(seeds):
            (corpus / f"seed-{i:03}").write_bytes(seed)
        argv = [*argv, str(corpus)]
    runs = next((int(a.split("=", 1)[1]) for a in argv if a.startswith("-runs=")), 0)
    state = {"runs": 0, "crashes": 0, "start": time.perf_counter()}

    def report() -> None:
        seconds = time.perf_counter() - state["start"]
        print(figures(name, "atheris", int(state["runs"]), seconds, int(state["crashes"])),
              flush=True)

    def counted(data: bytes) -> None:
        state["runs"] += 1
        try:
            one_input(data)
        except BaseException:
            state["crashes"] += 1
            report()  # libFuzzer stops at the first crash and writes it to crash-<sha1>
            raise
        if state["runs"] == runs:  # libFuzzer exits without running atexit hooks
            report()

    atheris.Setup(argv, counted)
    atheris.Fuzz()


def main(name: str, one_input: Callable[[bytes], None], seeds: Callable[[], list[bytes]],
         properties: Sequence[Property], argv: list[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    if "--hypothesis" in args:
        at = args.index("--hypothesis")
        examples = int(args[at + 1]) if at + 1 < len(args) else 1000
        return run_properties(name, properties, examples)
    run_atheris(name, one_input, seeds(), args)
    return 0
