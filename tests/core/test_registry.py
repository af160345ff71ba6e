"""The step table: roles on steps, loud provider failures, vendor providers by entry point."""

from __future__ import annotations

from importlib import metadata

import pytest

from harness import yamlmarks
from harness.cases import registry
from harness.cases.model import load_case


def write_case(tmp_path, sut, step_text):
    path = tmp_path / "C-1.yaml"
    verifies = "EPC-HS-01" if sut == "epcscf" else "WIC-HS-01"
    path.write_text(
        f"id: C-1\ntitle: t\nsut: {sut}\nverifies: [{verifies}]\nsteps:\n{step_text}"
    )
    return path


def test_a_step_of_the_other_role_is_refused_when_the_case_loads(tmp_path):
    path = write_case(tmp_path, "wic", "  - wait: {for: 1ms}\n  - wic.connect: {}\n")
    with pytest.raises(yamlmarks.DocumentError) as caught:
        load_case(path)
    text = str(caught.value)
    assert "C-1.yaml:7" in text and "steps.1" in text
    assert "'wic.connect' serves cases whose SUT is epcscf, not wic" in text


def test_steps_of_both_roles_load_in_either(tmp_path):
    for sut in ("epcscf", "wic"):
        case = load_case(write_case(tmp_path, sut, "  - wait: {for: 1ms}\n  - peer.ping: {}\n"))
        assert [s.kind for s in case.steps] == ["wait", "peer.ping"]


def test_every_built_in_step_declares_its_roles():
    table = registry.load_providers()
    own = [k for k in table.steps.values() if k.provider.startswith("harness.steps.")]
    assert len(own) >= 47  # other tests may add their own kinds to the table
    for kind in own:
        assert kind.roles and set(kind.roles) <= set(registry.ROLES), kind.name


def test_a_step_without_roles_cannot_register():
    with pytest.raises(ValueError, match="roles"):
        registry.step("x.none", roles=())
    with pytest.raises(ValueError, match="roles"):
        registry.step("x.bad", roles=("pcscf",))


def test_wicct_declares_its_providers_as_entry_points():
    declared = {ep.value for ep in metadata.entry_points(group=registry.ENTRY_POINT_GROUP)
                if ep.dist is not None and ep.dist.name == "wicct"}
    assert declared == set(registry.BUILTIN_PROVIDERS)


class FakeEntryPoint:
    def __init__(self, value, dist_name):
        self.value = value
        self.dist = type("Dist", (), {"name": dist_name})()


def test_a_vendor_provider_is_loaded_after_wicct_s_own(monkeypatch, tmp_path):
    own = [FakeEntryPoint(m, "wicct") for m in registry.BUILTIN_PROVIDERS]
    vendor = FakeEntryPoint("acme_wicct.steps:register", "acme-wicct")
    monkeypatch.setattr(metadata, "entry_points", lambda group: [vendor, *own])
    assert registry.provider_modules() == [*registry.BUILTIN_PROVIDERS, "acme_wicct.steps"]


def test_without_wicct_metadata_the_built_ins_are_still_loaded(monkeypatch):
    monkeypatch.setattr(metadata, "entry_points", lambda group: [])
    assert registry.provider_modules() == list(registry.BUILTIN_PROVIDERS)


def test_a_provider_that_fails_to_import_fails_loudly(monkeypatch, tmp_path):
    (tmp_path / "broken_provider.py").write_text("import not_a_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    vendor = FakeEntryPoint("broken_provider", "acme")
    monkeypatch.setattr(metadata, "entry_points", lambda group: [vendor])
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.setattr(registry, "REGISTRY", registry.Registry())
    with pytest.raises(registry.ProviderError) as caught:
        registry.load_providers()
    assert "broken_provider" in str(caught.value) and "not_a_module_anywhere" in str(caught.value)


def test_the_cli_stops_with_exit_2_on_a_broken_provider(monkeypatch, tmp_path, capsys):
    from harness import cli

    def broken():
        raise registry.ProviderError("step provider 'acme' failed to import: boom")

    monkeypatch.setattr(registry, "load_providers", broken)
    assert cli.main(["list"]) == 2
    assert "step provider 'acme' failed to import" in capsys.readouterr().err
