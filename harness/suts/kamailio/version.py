"""The versions Kamailio and rtpengine state at run time, for the report's SUT identity
(issue 10: the implementation under test is named by what runs, not only by the profile).

`kamailio -v` prints "version: kamailio 5.6.3 (x86_64/linux)"; `rtpengine --version`
prints "Version: 10.5.3.5-1+deb12u1". Each is read with a timeout; an executable that is
missing or says nothing readable gives None (the cases say why it cannot start).
"""

from __future__ import annotations

import re
import subprocess

KAMAILIO = re.compile(r"version:\s*kamailio\s+(\S+)", re.IGNORECASE)
RTPENGINE = re.compile(r"version:\s*(\S+)", re.IGNORECASE)


def read(command: list[str], pattern: re.Pattern[str], *, timeout: float = 10.0) -> str | None:
    """The version `command` prints (stdout or stderr), or None."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    found = pattern.search(done.stdout + "\n" + done.stderr)
    return found.group(1) if found else None


def kamailio_version(binary: str) -> str | None:
    return read([binary, "-v"], KAMAILIO)


def rtpengine_version(binary: str) -> str | None:
    return read([binary, "--version"], RTPENGINE)
