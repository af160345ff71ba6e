"""What a load run's Locust processes are told: one JSON file, named by an environment
variable (Locust's own command line carries users, spawn rate, time and the user classes).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

ENV = "WICCT_LOAD_SETTINGS"
SCENARIOS = ("register", "idle", "call", "mixed")


@dataclass(frozen=True)
class LoadSettings:
    ws_url: str
    ca_pem: str | None  # None: system trust
    tls_verify: bool
    server_hostname: str
    origin: str  # the WWSF's Origin (RFC 6455 §10.2; SEED 5.Y.1.1)
    domain: str
    callee: str
    password: str  # digest password of every load user (a secret: never in the report)
    auth: str  # "digest" | "bearer" | "none"
    bearer: str  # the Bearer token when auth == "bearer" (a secret)
    offer: str  # a JSEP offer made once by aiortc, varied per call
    stats_dir: str  # where each Locust process writes its figures
    response_timeout: float
    reregister_interval: float  # register scenario: pause between re-registrations
    keepalive_interval: float  # idle scenario: between a CRLF and a Ping
    call_hold: float  # call scenario: seconds between ACK and BYE

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)), encoding="utf-8")
        path.chmod(0o600)  # it holds the password and the token

    @classmethod
    def read(cls, path: Path) -> LoadSettings:
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_environment(cls) -> LoadSettings:
        where = os.environ.get(ENV)
        if not where:
            raise RuntimeError(f"{ENV} is not set: run the load through `wicct load`")
        return cls.read(Path(where))
