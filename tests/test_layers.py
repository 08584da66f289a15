"""The package's layers hold (``[tool.importlinter]`` in pyproject.toml: the layers from the CLI
down to the utilities, study/'s own layers, torch-free modules for the fast CLI, no cycle
between sibling modules, private modules kept private), and import-linter counts an import
inside a function as an import, so no lower layer reaches up even lazily."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def test_the_import_contracts_are_kept() -> None:
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout and r.stdout.count("KEPT") >= 5


def test_an_upward_import_inside_a_function_breaks_a_layers_contract(tmp_path) -> None:
    pkg = tmp_path / "toy"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "top.py").write_text("from toy import bottom\n")
    (pkg / "bottom.py").write_text("def f():\n    from toy import top  # lazily, upward\n    return top\n")
    (tmp_path / "setup.cfg").write_text("[importlinter]\nroot_package = toy\n\n"
                                        "[importlinter:contract:layers]\nname = toy layers\n"
                                        "type = layers\nlayers =\n    toy.top\n    toy.bottom\n")
    r = _lint(tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "BROKEN" in r.stdout and "toy.bottom -> toy.top" in r.stdout


def test_no_module_is_past_400_lines() -> None:
    """The project's rule for a structure a newcomer can read: split a module before it grows
    past 400 lines."""
    long = {str(p.relative_to(ROOT)): n for p in sorted((ROOT / "paretoul").rglob("*.py"))
            if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long
