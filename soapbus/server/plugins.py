"""The handler table a server runs with: a DMS's modules imported, rule sets switched on, the
built-in CIM store behind them. Every way this can go wrong is one line naming the culprit.
"""
from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from ..bus.rules import RULE_SETS, rule_set
from ..handlers import HandlerRegistry, RegistrationError, registry
from . import cimstore


class PluginError(Exception):
    """A handler module or rule set the server cannot start with; one line saying which and why."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _where(exc: BaseException) -> str:
    """' at file:line' of the innermost frame the exception came from (or of a SyntaxError)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" at {exc.filename}:{exc.lineno}"
    frames = traceback.extract_tb(exc.__traceback__)
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def _on_path_first(directory: str) -> None:
    # `soapbus` started as an installed script has its own folder first on sys.path, not the
    # current one (as `python -m` would): a DMS module beside the operator must still be found.
    if directory not in sys.path:
        sys.path.insert(0, directory)


def import_handler_modules(names: Sequence[str]) -> None:
    """Import each module (from the current directory or the installed packages); it registers on import."""
    if not names:
        return
    here = os.getcwd()
    _on_path_first(here)
    for name in names:
        try:
            importlib.import_module(name)
        except RegistrationError as exc:
            raise PluginError(f"handler module {name!r}: {exc}") from None
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                raise PluginError(f"cannot import handler module {name!r}: no module {exc.name!r} in the current "
                                  f"directory ({here}) or the installed packages") from None
            raise PluginError(f"handler module {name!r} cannot import {exc.name!r}{_where(exc)}: "
                              f"{_first_line(exc)}") from None
        except Exception as exc:  # its own bug: say where, in one line (the operator runs the module to see more)
            raise PluginError(f"handler module {name!r} failed while loading{_where(exc)}: "
                              f"{type(exc).__name__}: {_first_line(exc)}") from None


def handler_table(modules: Sequence[str], rules: Sequence[str], source: str,
                  base: HandlerRegistry | None = None) -> HandlerRegistry:
    """What a server dispatches to: `base` (default: the registry the modules register in), then
    the named rule sets as middleware after any of the DMS's, then the built-in store behind it all."""
    import_handler_modules(modules)
    table = (base or registry).copy()
    for name in rules:
        if name not in RULE_SETS:
            raise PluginError(f"no rule set {name!r}; known: {', '.join(sorted(RULE_SETS))}")
        table.use(rule_set(name, source))
    return cimstore.install(table)


__all__ = ["PluginError", "import_handler_modules", "handler_table"]
