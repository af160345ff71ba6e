"""Case and profile documents: errors name the file, the line and the key."""

import pytest

from harness import yamlmarks
from harness.profiles import PROFILE_SCHEMA, load_profile, parse_duration


def write(tmp_path, text, name="doc.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


class TestLoad:
    def test_syntax_error_names_line(self, tmp_path):
        path = write(tmp_path, "a: 1\nb: [1, 2\nc: 3\n")
        with pytest.raises(yamlmarks.DocumentError) as err:
            yamlmarks.load(path)
        assert err.value.line >= 2
        assert str(path) in str(err.value)

    def test_duplicate_key_is_an_error(self, tmp_path):
        with pytest.raises(yamlmarks.DocumentError, match="duplicate key 'a'"):
            yamlmarks.load(write(tmp_path, "a: 1\na: 2\n"))

    def test_no_python_tags(self, tmp_path):
        with pytest.raises(yamlmarks.DocumentError):
            yamlmarks.load(write(tmp_path, "a: !!python/object/apply:os.system ['true']\n"))


class TestProfiles:
    def test_schema_error_names_line_and_key(self, tmp_path):
        path = write(tmp_path, "name: x\nrole: wic\ndriver: reference\ntimers:\n  t1: fast\n")
        with pytest.raises(yamlmarks.DocumentError) as err:
            load_profile(path)
        assert err.value.line == 5
        assert err.value.key == "timers.t1"

    def test_unknown_key(self, tmp_path):
        path = write(tmp_path, "name: x\nrole: wic\ndriver: reference\ncolour: red\n")
        with pytest.raises(yamlmarks.DocumentError, match="colour"):
            load_profile(path)

    def test_durations(self):
        assert parse_duration("50ms") == 0.05
        assert parse_duration("2s") == 2.0
        assert parse_duration(3) == 3.0
        with pytest.raises(ValueError):
            parse_duration("soon")

    def test_reference_profiles_are_valid(self):
        from harness.plugin import DEFAULT_PROFILES, load_profiles

        profiles = load_profiles(DEFAULT_PROFILES)
        assert {p.role for p in profiles} == {"wic", "epcscf"}
        assert all(p.tls_verify for p in profiles)
        assert PROFILE_SCHEMA["properties"]["driver"]["pattern"]

    def test_unknown_fault_is_a_profile_error(self, tmp_path):
        from harness.plugin import load_profiles

        path = write(tmp_path, "name: x\nrole: wic\ndriver: reference\nfaults: [melt_down]\n")
        with pytest.raises(yamlmarks.DocumentError, match="melt_down"):
            load_profiles([path])


class TestDrivers:
    def test_unknown_driver_is_a_profile_error(self, tmp_path):
        from harness.plugin import load_profiles

        path = write(tmp_path, "name: x\nrole: wic\ndriver: teleport\n")
        with pytest.raises(yamlmarks.DocumentError, match="no wic driver 'teleport'"):
            load_profiles([path])

    def test_vendor_driver_by_class_path(self, tmp_path):
        from harness.plugin import load_profiles

        good = write(tmp_path, "name: x\nrole: wic\ndriver: harness.suts.manual:ManualWicDriver\n", "a.yaml")
        assert load_profiles([good])[0].driver.endswith(":ManualWicDriver")
        bad = write(tmp_path, "name: x\nrole: wic\ndriver: acme.nowhere:Driver\n", "b.yaml")
        with pytest.raises(yamlmarks.DocumentError, match="cannot be loaded"):
            load_profiles([bad])
