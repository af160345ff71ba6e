"""Makes the wicct plugin active for in-repo runs when the package is not installed.

An installed wicct registers the plugin through its `pytest11` entry point; loading it a
second time here would register the same module twice, so only fall back when absent.
"""

from importlib.metadata import entry_points

if not any(ep.name == "wicct" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["harness.plugin"]
