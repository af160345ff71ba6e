"""What identifies a run and its report (ISO/IEC 9646-5 PCTR; ISO/IEC 17025 §7.8.2.1).

A report id unique to the run, the hash of the case set it ran, wicct's git commit when it
runs from a checkout, the statement that the results relate only to the items tested, and
the documents its clauses cite. `report.json` carries them (`RunResult.to_json()`), every
other output (HTML, JUnit, diff, matrix) reads them from there.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import subprocess
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import harness

ISSUER = "wicct (WebRTC-to-IMS conformance test harness)"
STATEMENT = (
    "The results relate only to the items tested: the SUTs named here, in the configuration "
    "their profiles state, against the cases of the case set identified by its hash."
)
# ISO/IEC 9646-5 names the documents a test report refers to; ours are the clause sources
REFERENCES = (
    {
        "cited_as": "SEED x",
        "title": "seed-webrtc-ims-clauses.txt: a draft adding WebRTC clauses to 3GPP TS 24.229 "
        "(clause numbers 5.1.X.* for the WIC, 5.Y.* for the eP-CSCF)",
    },
    {"cited_as": "RFC n §x", "title": "IETF RFCs (RFC 7118, RFC 6455, RFC 3261, RFC 8898, ...)"},
    {"cited_as": "TS n", "title": "3GPP technical specifications (TS 24.229, TS 24.371, TS 33.203, ...)"},
    {"cited_as": "requirement ids", "title": "wicct's requirement catalogue, harness/data/requirements.md"},
)
NO_CHECKOUT = "not run from a git checkout: no commit recorded"


def new_report_id(when: _dt.datetime | None = None) -> str:
    """`WICCT-<UTC date and time>-<8 hex>`: sortable by time, and unique (uuid4)."""
    moment = (when or _dt.datetime.now(_dt.UTC)).astimezone(_dt.UTC)
    return f"WICCT-{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def suite_hash(files: Iterable[tuple[str, bytes]]) -> str:
    """`sha256:<hex>` over the case set: each case file's id (its stem) and the SHA-256 of
    its bytes, sorted by id, one line each. Independent of where the files live, so a
    checkout and an installed wicct with the same cases give the same hash."""
    lines = sorted(f"{name} {hashlib.sha256(data).hexdigest()}\n" for name, data in files)
    return "sha256:" + hashlib.sha256("".join(lines).encode()).hexdigest()


def suite_hash_of_paths(paths: Iterable[Path]) -> str:
    """`suite_hash` of case files on disk."""
    return suite_hash((p.stem, p.read_bytes()) for p in paths)


def git_commit(start: Path | None = None) -> str | None:
    """The commit of the checkout wicct's package is in (with `-dirty` when the work tree
    differs), or None when wicct is not run from a checkout (an installed wheel) or git
    is missing."""
    where = start or Path(harness.__file__).resolve().parent
    try:
        # tracked, not merely inside a work tree (a venv's site-packages may be in one)
        tracked = subprocess.run(
            ["git", "-C", str(where), "ls-files", "--error-unmatch", "__init__.py"],
            capture_output=True, text=True, timeout=5, check=False,
        )
        if tracked.returncode != 0:
            return None
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )
        if head.returncode != 0:
            return None
        dirty = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip()
    return commit + ("-dirty" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def harness_identity(commit: str | None) -> dict[str, Any]:
    """The `commit` of report.json's `harness`, or `commit_note` saying why there is none."""
    return {"commit": commit} if commit else {"commit_note": NO_CHECKOUT}
