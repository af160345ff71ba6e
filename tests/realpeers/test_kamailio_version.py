"""Kamailio's and rtpengine's versions read at run time for the report's SUT identity
(issue 10 item 1): `kamailio -v` and `rtpengine --version` fill `read_version`, and a
profile whose stated version the binary contradicts gets a note in the report."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from harness.plugin import sut_identity, version_notes
from harness.profiles import load_profile
from harness.suts.kamailio.driver import KamailioEpcscfDriver, find_kamailio
from harness.suts.kamailio.rtpengine import find_rtpengine

from .conftest import PROFILES, require

pytestmark = pytest.mark.realpeer


def _stated(binary: str, flag: str) -> str:
    done = subprocess.run([binary, flag], capture_output=True, text=True, timeout=10, check=False)
    return done.stdout + done.stderr


def test_the_running_kamailio_and_rtpengine_versions_are_in_the_identity() -> None:
    kamailio, rtpengine = find_kamailio(), find_rtpengine()
    require(kamailio is not None, "kamailio")
    require(rtpengine is not None, "rtpengine")
    assert kamailio is not None and rtpengine is not None
    profile = load_profile(PROFILES / "kamailio-rtpengine-epcscf.yaml")
    implementation = sut_identity(profile)["implementation"]
    read = implementation["read_version"]
    assert f"kamailio {read} " in _stated(kamailio, "-v")
    [engine] = implementation["components"]
    assert engine["read_version"] in _stated(rtpengine, "--version")
    assert engine["version"] == "10.5.3"  # the profile's, kept beside the one read
    assert version_notes(profile.id, implementation) == []  # 10.5.3.5-... extends 10.5.3
    # without rtpengine, only Kamailio is read
    plain = KamailioEpcscfDriver.components(load_profile(PROFILES / "kamailio-epcscf.yaml"))
    assert [c["product"] for c in plain] == ["Kamailio"]


def test_a_stated_version_the_binary_contradicts_is_a_note() -> None:
    require(find_kamailio() is not None, "kamailio")
    profile = load_profile(PROFILES / "kamailio-epcscf.yaml")
    for stated in ("5.5.0", "5.6"):
        wrong = dataclasses.replace(profile, implementation={**profile.implementation, "version": stated})
        implementation = sut_identity(wrong)["implementation"]
        notes = version_notes(wrong.id, implementation)
        if stated == "5.6":  # 5.6.3 extends 5.6: they agree
            assert notes == []
            continue
        assert implementation["version"] == stated and implementation["read_version"] != stated
        [note] = notes
        assert f"states Kamailio (Debian 12 packages) version {stated}" in note
        assert f"reads {implementation['read_version']}" in note
    unstated = dataclasses.replace(profile, implementation={
        k: v for k, v in profile.implementation.items() if k != "version"})
    filled = sut_identity(unstated)["implementation"]
    assert filled["version"] == filled["read_version"]  # the profile left it out: the one read
    missing = dataclasses.replace(profile, driver_options={"binary": "/nonexistent/kamailio"})
    assert KamailioEpcscfDriver.components(missing) == []
