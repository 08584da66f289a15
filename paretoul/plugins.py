"""Plugins: methods, metrics, datasets and models registered from outside the package.

A plugin is a Python module that registers entries when it is imported, with the same
decorators the package's own modules use (``@register_method``, ``@register_metric``, ...).
Every registry imports the plugins before its first lookup, once per process:

- each entry point of the group ``paretoul.plugins`` of the installed distributions, e.g.
  in the plugin's ``pyproject.toml``::

      [project.entry-points."paretoul.plugins"]
      my_methods = "my_package.unlearning"

- each module named in the environment variable ``PARETOUL_PLUGINS`` (comma-separated
  module names, importable from ``sys.path``/``PYTHONPATH``); a name added later in the
  process is imported at the next lookup of a name no registry holds.

Trial workers look methods up by name too: a local Ray inherits the launcher's environment
(``PARETOUL_PLUGINS`` and ``PYTHONPATH``), and on a cluster the plugin's distribution must be
installed on every node (its entry point then loads it there). Registering a name that is
already taken raises, as for the package's own entries.
"""

from __future__ import annotations

import importlib
import os
import threading

from paretoul.errors import UserError

GROUP = "paretoul.plugins"
ENV = "PARETOUL_PLUGINS"

_lock = threading.RLock()
_imported: set[str] = set()
_entry_points_done = False
_loading = False


def _env_modules() -> list[str]:
    return [m.strip() for m in os.environ.get(ENV, "").split(",") if m.strip()]


def load_plugins() -> list[str]:
    """Import every plugin not imported yet (entry points, then ``$PARETOUL_PLUGINS``); return
    the modules imported by this call. A module that cannot be imported is a one-line
    :class:`~paretoul.errors.UserError` naming it and where it was named."""
    global _entry_points_done, _loading
    pending_env = [m for m in _env_modules() if m not in _imported]
    if _entry_points_done and not pending_env:
        return []
    with _lock:
        if _loading:  # a plugin's own import looks a registry up: it is loading already
            return []
        _loading = True
        try:
            done: list[str] = []
            if not _entry_points_done:
                from importlib.metadata import entry_points

                for ep in entry_points(group=GROUP):
                    done += _import(ep.value.split(":", 1)[0], f"entry point {ep.name!r} of {GROUP}")
                _entry_points_done = True
            for module in pending_env:
                done += _import(module, ENV)
            return done
        finally:
            _loading = False


def _import(module: str, where: str) -> list[str]:
    if module in _imported:
        return []
    try:
        importlib.import_module(module)
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise UserError("plugins", f"cannot import {module!r} (named in {where}): "
                        f"{type(e).__name__}: {first}") from None
    _imported.add(module)
    return [module]


def loaded() -> list[str]:
    """The plugin modules imported so far in this process."""
    return sorted(_imported)
