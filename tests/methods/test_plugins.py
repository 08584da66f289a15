"""Methods registered from outside the package (:mod:`paretoul.plugins`): through
``PARETOUL_PLUGINS`` and through an installed distribution's entry point, as a user's own
package does it; a plugin that cannot be imported is one line, exit 2. Each case runs the real
``paretoul`` command in a fresh process (plugins load once per process). The trial path (a
plugin method inside Ray's workers) is checked on the shared study:
:mod:`tests.study.test_trial_errors`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("paretoul")


def _paretoul(*args: str, **env: str) -> subprocess.CompletedProcess:
    full = {**{k: v for k, v in os.environ.items() if k != "PARETOUL_PLUGINS"}, **env}
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, env=full, timeout=120)


def test_a_method_named_in_paretoul_plugins_is_listed_and_described() -> None:
    env = {"PARETOUL_PLUGINS": "tests.plugins.paretoul_test_plugin", "PYTHONPATH": str(REPO)}
    listing = _paretoul("methods", **env)
    assert listing.returncode == 0, listing.stderr
    assert "crash" in listing.stdout.split() and "ft" in listing.stdout.split()
    one = _paretoul("methods", "crash", **env)
    assert one.returncode == 0, one.stderr
    assert "raises RuntimeError in the trial" in one.stdout and "epochs" in one.stdout
    without = _paretoul("methods", "crash")
    assert without.returncode == 2 and "crash" in without.stderr  # unknown without the plugin


def test_an_installed_distributions_entry_point_registers_its_method(tmp_path: Path) -> None:
    (tmp_path / "my_unlearning.py").write_text(
        "from tests.plugins.paretoul_test_plugin import Crash, CrashConfig\n"
        "from paretoul.methods import register_method\n\n"
        "@register_method\n"
        "class Mine(Crash):\n"
        "    name = 'mine'\n"
        "    summary = 'a method from an installed distribution'\n")
    info = tmp_path / "my_unlearning-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-unlearning\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[paretoul.plugins]\nmine = my_unlearning\n")
    r = _paretoul("methods", PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    assert r.returncode == 0, r.stderr
    assert "a method from an installed distribution" in r.stdout
    assert "crash" in r.stdout.split()  # the module it imports registered its own method too


def test_a_plugin_that_cannot_be_imported_is_one_line(tmp_path: Path) -> None:
    r = _paretoul("methods", PARETOUL_PLUGINS="no_such_plugin_module")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    (line,) = r.stderr.strip().splitlines()
    assert line == ("paretoul: error: plugins: cannot import 'no_such_plugin_module' (named in "
                    "PARETOUL_PLUGINS): ModuleNotFoundError: No module named 'no_such_plugin_module'")
    (tmp_path / "taken.py").write_text(
        "from tests.plugins.paretoul_test_plugin import Crash\n"
        "from paretoul.methods import register_method\n\n"
        "@register_method\n"
        "class Taken(Crash):\n"
        "    name = 'ft'\n")
    r = _paretoul("methods", PARETOUL_PLUGINS="taken", PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    assert r.returncode == 2
    assert "cannot import 'taken'" in r.stderr and "method 'ft' is already registered" in r.stderr


def test_load_plugins_imports_each_module_once_and_names_added_later_too() -> None:
    code = """
import os
from paretoul import plugins
from paretoul.methods import METHODS
assert "crash" not in METHODS and plugins.loaded() == []
os.environ["PARETOUL_PLUGINS"] = "tests.plugins.paretoul_test_plugin"  # named after the first lookup
assert "crash" in METHODS and plugins.loaded() == ["tests.plugins.paretoul_test_plugin"]
assert plugins.load_plugins() == []  # nothing new: nothing imported again
print("ok")
"""
    env = {k: v for k, v in os.environ.items() if k != "PARETOUL_PLUGINS"}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                       env={**env, "PYTHONPATH": str(REPO)}, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
