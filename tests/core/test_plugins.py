"""The plugin system: built-ins, real entry points, duplicates, broken plugins, the blocklist."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import genseek
from genseek.errors import PluginError, UnknownComponentError
from genseek.fusers.base import Fuser
from genseek.plugin import BUILTIN_PLUGINS, build_registry, make_plugin_manager
from genseek.plugin.register import Register

ROOT = Path(__file__).resolve().parents[2]


def fake_distribution(tmp_path: Path, monkeypatch, name: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """Put a minimal installed distribution (dist-info + modules) on sys.path."""
    dist_info = tmp_path / f"{name}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = "\n".join(f"{ep} = {target}" for ep, target in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[genseek]\n{lines}\n")
    for module, source in modules.items():
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in modules:
        sys.modules.pop(module, None)


FUSER_PLUGIN = """
    import genseek
    from genseek.fusers.base import Fuser

    class {cls}(Fuser):
        id = "{fid}"
        def fuse(self, per_seed, ctx):
            return [p for ranked in per_seed for p in ranked][: ctx.limit]

    @genseek.hookimpl
    def register_fusers(register):
        register({cls})
"""


def test_builtins_register_through_the_hooks():
    registry = build_registry(load_entry_points=False)
    assert {"rrf", "dbsf", "centroid", "max", "round_robin", "mmr"} <= set(registry.ids("fuser"))
    assert "identity" in registry.ids("sampler")
    assert "precomputed" in registry.ids("encoder")
    assert {"qdrant", "qdrant-async"} <= set(registry.ids("adapter"))
    plugins = {r.plugin for kind in ("fuser", "sampler", "encoder", "adapter") for r in registry.registrations(kind)}
    assert plugins <= set(BUILTIN_PLUGINS)


def test_entry_point_plugin_is_discovered(tmp_path, monkeypatch):
    fake_distribution(tmp_path, monkeypatch, "genseek-first", {"first": "gs_first"},
                      {"gs_first": FUSER_PLUGIN.format(cls="FirstFuser", fid="first")})
    registry = build_registry()
    registration = registry.registration("fuser", "first")
    assert registration.plugin == "first"
    assert isinstance(registry.fuser("first"), Fuser)


def test_duplicate_ids_are_an_error_naming_both_plugins(tmp_path, monkeypatch):
    fake_distribution(tmp_path, monkeypatch, "genseek-dup", {"dup": "gs_dup"},
                      {"gs_dup": FUSER_PLUGIN.format(cls="MyRRF", fid="rrf")})
    with pytest.raises(PluginError, match=r"duplicate fuser id 'rrf'.*'dup'.*'genseek\.fusers\.builtin'|duplicate fuser id 'rrf'.*'genseek\.fusers\.builtin'.*'dup'"):
        build_registry()
    # the blocklist lets the application start without it
    monkeypatch.setenv("GENSEEK_DISABLE_PLUGINS", "other, dup")
    assert build_registry().registration("fuser", "rrf").plugin == "genseek.fusers.builtin"


def test_broken_plugin_names_plugin_and_distribution(tmp_path, monkeypatch):
    fake_distribution(tmp_path, monkeypatch, "genseek-broken", {"broken": "gs_broken"},
                      {"gs_broken": "import not_a_real_module_xyz\n"})
    with pytest.raises(PluginError) as info:
        make_plugin_manager()
    message = str(info.value)
    assert "'broken'" in message and "genseek-broken 1.0" in message and "not_a_real_module_xyz" in message
    assert "GENSEEK_DISABLE_PLUGINS=broken" in message


def test_plugin_with_unknown_hook_is_rejected():
    class Typo:
        @genseek.hookimpl
        def register_fuser(self, register):  # missing "s"
            pass

    with pytest.raises(PluginError, match="register_fuser"):
        make_plugin_manager(extra_plugins=[Typo()], load_entry_points=False)


def test_plugin_failing_inside_its_hook_is_named():
    class Exploding:
        @genseek.hookimpl
        def register_samplers(self, register):
            raise RuntimeError("boom")

    with pytest.raises(PluginError, match="'Exploding' failed in register_samplers: RuntimeError: boom"):
        build_registry(extra_plugins=[Exploding()], load_entry_points=False)


def test_register_validates_components():
    seen = []
    register = Register("fuser", (Fuser,), "demo", seen.append)
    with pytest.raises(PluginError, match="does not subclass"):
        register(dict, id="dict")
    with pytest.raises(PluginError, match="invalid id"):
        register(Fuser, id="Bad Id")
    assert seen == []


def test_unknown_component_lists_available():
    registry = build_registry(load_entry_points=False)
    with pytest.raises(UnknownComponentError) as info:
        registry.sampler("diffusionn")
    assert "identity" in str(info.value) and "genseek plugins" in str(info.value)


def test_example_plugin_installs_and_loads(tmp_path):
    """The in-tree example plugin, pip-installed, is found through its real entry point."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(ROOT / "examples" / "genseek-borda")],
        check=True,
    )
    script = textwrap.dedent(
        """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        from genseek.plugin import get_registry
        r = get_registry().registration("fuser", "borda")
        print(json.dumps({"plugin": r.plugin, "fusers": get_registry().ids("fuser")}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script, str(target)], check=True, capture_output=True, text=True)
    listing = json.loads(out.stdout)
    assert listing["plugin"] == "borda" and "rrf" in listing["fusers"]
    cli = subprocess.run(
        [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from genseek.cli import main; "
         "sys.exit(main(['plugins', '--kind', 'fuser', '--json']))", str(target)],
        check=True, capture_output=True, text=True,
    )
    assert any(entry["id"] == "borda" for entry in json.loads(cli.stdout)["fuser"])
