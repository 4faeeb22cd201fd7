"""The revisions this soapbus knows: read once from versions/, never from a database."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

HERE = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class Revision:
    id: str
    down: str | None  # the revision it upgrades from; None for the first
    title: str  # the first line of its docstring


@cache
def script_directory() -> ScriptDirectory:
    return ScriptDirectory(str(HERE), file_template="%(rev)s_%(slug)s")


def head() -> str:
    return script_directory().get_current_head()


def history() -> list[Revision]:
    """Every revision, newest first."""
    return [Revision(script.revision, script.down_revision, (script.doc or "").strip().split("\n")[0])
            for script in script_directory().walk_revisions()]


def known(revision: str) -> bool:
    return any(r.id == revision for r in history())


def alembic_config(connection: Connection | None = None) -> Config:
    """A configuration for alembic's commands; env.py runs them on `connection`."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


__all__ = ["Revision", "script_directory", "head", "history", "known", "alembic_config", "VERSION_TABLE"]
