"""Profile checks against the driver (harness.suts.checks, issue item 10): a vendor's
`module:Class` that does not import, unknown driver options and misplaced faults are
profile errors at `file:line`; settings nothing reads are warnings in the report."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from harness import yamlmarks
from harness.plugin import load_profiles, sut_info
from harness.profiles import Profile
from harness.report import render_summary
from harness.report.html import render_html
from harness.report.validate import validate_report
from harness.results import RunResult
from harness.suts.checks import profile_warnings

ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(path: Path) -> yamlmarks.DocumentError:
    with pytest.raises(yamlmarks.DocumentError) as err:
        load_profiles([str(path)])
    return err.value


def _load(path: Path) -> Profile:
    (profile,) = load_profiles([str(path)])
    return profile


# -- a vendor's module:Class -------------------------------------------------------------------


def test_missing_vendor_module_says_pythonpath_and_names_the_driver_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: ACME\nrole: wic\n\ndriver: acme_wicct.http_driver:HttpWicDriver\n")
    err = _error(path)
    assert (err.line, err.key) == (4, "driver")
    text = str(err)
    assert text.startswith(f"{path}:4: driver: wic driver 'acme_wicct.http_driver:HttpWicDriver'")
    assert "no module named 'acme_wicct'" in text
    assert "put the folder that holds acme_wicct/ (or acme_wicct.py) on PYTHONPATH" in text


def test_vendor_module_found_on_the_path_it_names(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "vendor" / "acme_wicct_ok"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "drv.py").write_text(
        "from harness.suts.manual import ManualWicDriver\n\n\n"
        "class AcmeDriver(ManualWicDriver):\n    options = {'base_url': 'x'}\n"
    )
    path = _write(tmp_path, "name: A\nrole: wic\ndriver: acme_wicct_ok.drv:AcmeDriver\n"
                  "driver_options: {base_url: 'http://127.0.0.1:1', listen_port: 7443}\n")
    assert "PYTHONPATH" in str(_error(path))
    monkeypatch.syspath_prepend(str(tmp_path / "vendor"))
    assert _load(path).driver == "acme_wicct_ok.drv:AcmeDriver"


def test_a_missing_dependency_of_the_driver_is_not_a_pythonpath_problem(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "acme_broken_drv.py").write_text("import acme_absent_dependency  # noqa\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    err = _error(_write(tmp_path, "name: A\nrole: wic\ndriver: acme_broken_drv:Driver\n"))
    assert err.line == 3
    assert "importing acme_broken_drv failed" in str(err)
    assert "a dependency of the driver" in str(err) and "PYTHONPATH" not in str(err)


@pytest.mark.parametrize(
    ("role", "target", "base"),
    [("wic", "harness.suts.manual:Console", "WicDriver"),
     ("epcscf", "harness.suts.manual:ManualWicDriver", "EpcscfDriver")],
)  # fmt: skip
def test_a_class_that_is_not_a_driver_of_the_role(tmp_path, role, target, base) -> None:
    err = _error(_write(tmp_path, f"name: A\nrole: {role}\ndriver: {target}\n"))
    assert err.line == 3 and f"not a subclass of harness.suts.base.{base}" in str(err)


def test_cli_prints_the_pythonpath_hint_and_exits_2(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: A\nrole: epcscf\ndriver: acme_nowhere:Driver\n")
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--profile", str(path),
         "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert f"wicct: bad profile: {path}:3: driver:" in proc.stderr
    assert "on PYTHONPATH" in proc.stderr


# -- driver options and faults -------------------------------------------------------------------


def test_unknown_driver_option_is_an_error_with_the_nearest_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: A\nrole: wic\ndriver: reference\ndriver_options:\n"
                  "  verb_timout: 3\n")
    err = _error(path)
    assert (err.line, err.key) == (5, "driver_options.verb_timout")
    assert "the reference wic driver has no option 'verb_timout'" in str(err)
    assert "did you mean verb_timeout?" in str(err)


def test_harness_options_are_known_for_every_wic_driver(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: A\nrole: wic\ndriver: reference\n"
                  "driver_options: {listen_port: 7443, verb_timeout: 3}\n")
    assert _load(path).driver_options["listen_port"] == 7443
    bad = _write(tmp_path, "name: A\nrole: epcscf\ndriver: reference\n"
                 "driver_options: {listen_port: 7443}\n", "b.yaml")
    assert "known: none" in str(_error(bad))


def test_undeclared_vendor_options_are_not_checked(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: A\nrole: epcscf\ndriver: harness.suts.base:EpcscfDriver\n"
                  "driver_options: {anything: 1}\n")
    assert _load(path).driver_options == {"anything": 1}


def test_faults_on_another_driver_name_their_line(tmp_path: Path) -> None:
    err = _error(_write(tmp_path, "name: A\nrole: epcscf\ndriver: kamailio\n\nfaults: [x]\n"))
    assert (err.line, err.key) == (5, "faults")
    assert "only for the reference driver" in str(err)


def test_browser_page_options_are_checked_at_load(tmp_path: Path) -> None:
    page = _write(tmp_path, "<html></html>", "page.html")
    ok = _load(_write(tmp_path, f"name: A\nrole: wic\ndriver: browser\ndriver_options:\n"
                      f"  page: {page.name}\n  contract: 1\n"))
    assert ok.driver_options["page"] == "page.html"
    missing = _error(_write(tmp_path, "name: A\nrole: wic\ndriver: browser\ndriver_options:\n"
                            "  contract: 1\n  page: web/nowhere.html\n", "b.yaml"))
    assert (missing.line, missing.key) == (6, "driver_options.page")
    assert "no such file or folder" in str(missing)
    contract = _error(_write(tmp_path, "name: A\nrole: wic\ndriver: browser\ndriver_options:\n"
                             f"  page: {page.name}\n  contract: 2\n", "c.yaml"))
    assert contract.key == "driver_options.contract" and "speaks page contract 1" in str(contract)
    assets = _error(_write(tmp_path, "name: A\nrole: wic\ndriver: browser\ndriver_options:\n"
                           "  assets: [x.js]\n", "d.yaml"))
    assert assets.key == "driver_options.assets" and "only used with driver_options.page" in str(assets)


# -- warnings: settings nothing reads ------------------------------------------------------------


def test_builtin_profiles_have_no_warnings() -> None:
    from harness import builtin

    for name in builtin.profile_names():
        assert profile_warnings(_load(builtin.profiles_dir() / f"{name}.yaml")) == [], name


def test_wic_profile_with_epcscf_settings_is_warned(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: A\nrole: wic\ndriver: reference\nsut:\n  tls_verify: false\n  ca: generated\n"
        "trusted_origins: [https://other.example.test]\ncore:\n  listen: udp://127.0.0.1:5060\n"
        "features: [calls, path]\n",
    )
    warnings = profile_warnings(_load(path))
    assert warnings == [
        f"{path}:7: trusted_origins: not used by a wic SUT: wicct's eP-CSCF emulator checks "
        "no Origin; in the WIC role the WIC's Origin is compared with wwsf_origin (WIC-HS-02)",
        f"{path}:9: core.listen: not used by a wic SUT: the WIC role has no IMS-core stub "
        "(wicct's eP-CSCF emulator answers)",
        f"{path}:5: sut.tls_verify: not used by a wic SUT: wicct is the TLS server in the WIC "
        "role; only the eP-CSCF role verifies the SUT's certificate",
        f"{path}:10: features.1: 'path' means nothing for a wic SUT (a feature of the epcscf "
        "role): no case or check uses it",
    ]


def test_epcscf_settings_a_driver_ignores_are_warned(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "name: A\nrole: epcscf\ndriver: kamailio\nsut:\n  url: wss://127.0.0.1:7443/\n"
        "  host: 10.0.0.1\nwwsf_origin: https://wwsf.example.test\n"
        "trusted_origins: [https://other.example.test]\nfeatures: [crlf_pong]\n",
    )
    warnings = "\n".join(profile_warnings(_load(path)))
    assert f"{path}:5: sut.url: not used by the kamailio driver: it starts the eP-CSCF" in warnings
    assert f"{path}:6: sut.host: not used: no role or driver reads it" in warnings
    assert f"{path}:9: features.0: 'crlf_pong' means nothing for a epcscf SUT" in warnings
    assert f"{path}:7: wwsf_origin: https://wwsf.example.test is not in trusted_origins" in warnings


def test_warnings_reach_report_json_html_and_the_summary(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: A\nrole: wic\ndriver: reference\n"
                  "trusted_origins: [https://x.example.test]\n")
    info = sut_info(_load(path))
    assert len(info.warnings) == 1
    report = RunResult(suts=[info]).to_json()
    assert report["suts"][0]["warnings"] == list(info.warnings)
    validate_report(report)
    html = render_html(report)
    assert "Profile settings not used" in html and "trusted_origins: not used by a wic SUT" in html
    out = io.StringIO()
    render_summary(report, Console(file=out, width=300))
    assert f"warning: profile setting not used: {path}:4: trusted_origins" in out.getvalue()
    clean = RunResult(suts=[sut_info(_load(_write(tmp_path, "name: A\nrole: wic\n"
                                                  "driver: reference\n", "c.yaml")))]).to_json()
    assert "warnings" not in clean["suts"][0]
