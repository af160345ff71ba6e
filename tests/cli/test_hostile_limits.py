"""`wicct run` against a flooding eP-CSCF (bench/hostile_sut.py: endless 16-byte
continuations, 10k Pings/s, random binary frames) stays bounded (issue 11): the report is
written and small, each case's evidence is capped and says so, no case is a wicct ERROR,
the run does not exit 0, and the peak memory of the run stays under 400 MiB."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness import evidence as ev

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_hostile import measure  # noqa: E402

SELECT = "EPC-HS-01-reconnect or EPC-FR-08-opcode"
PEAK_MIB = 400


@pytest.mark.parametrize("mode", ["continuations", "pings", "binary"])
def test_a_flooding_sut_leaves_a_small_report_and_bounded_memory(tmp_path, mode):
    figures = measure(mode, tmp_path, SELECT, timeout=300)
    assert figures["cases"] == 2, figures["stderr"]
    assert figures["exit"] != 0
    assert not [v for v in figures["verdicts"] if v.endswith("=ERROR")], figures["reasons"]
    assert figures["max_entries"] <= ev.HARD_MAX_ENTRIES + 10
    assert figures["capped"] >= 1  # the flood was counted, not stored, and the case says so
    assert figures["report_json_mib"] < 10 and figures["report_html_mib"] < 10
    assert figures["peak_rss_mib"] < PEAK_MIB
