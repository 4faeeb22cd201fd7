"""Options and helpers shared by the commands.

Where the state lives (`--data`) is resolved the same way by every command, so that `soapbus
journal list` finds the database `scripts/serve` wrote wherever the shell happens to stand:

1. `--data DIR` when given;
2. else the environment variable SOAPBUS_DATA;
3. else, when soapbus runs from a source checkout (the package sits beside `setup.cfg` and
   `scripts/serve`, an editable install included), the checkout's `var/` — where
   `scripts/serve` keeps it;
4. else `./var` in the current folder (an installed wheel has no checkout to point at).
"""
from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import click

from ..profiles.examples import did_you_mean
from ..server.config import DEFAULT_PORT, ServerConfig

DATA_ENV = "SOAPBUS_DATA"


@cache
def checkout_root() -> Path | None:
    """The source checkout soapbus runs from, or None for an installed wheel."""
    root = Path(__file__).resolve().parents[2]
    if (root / "setup.cfg").is_file() and (root / "scripts" / "serve").is_file():
        return root
    return None


def default_data_dir() -> Path:
    """Where the state lives when --data is not given (see the module doc)."""
    from_env = os.environ.get(DATA_ENV)
    if from_env:
        return Path(from_env)
    root = checkout_root()
    return root / "var" if root is not None else Path("var")


def _resolve_data(ctx, param, value: Path | None) -> Path:
    return value if value is not None else default_data_dir()


data_option = click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None, callback=_resolve_data,
    help=f"Folder for the SQLite database and other state [default: ${DATA_ENV}, else the checkout's var/ "
         "when run from a source checkout, else ./var].")
database_option = click.option("--database", "database_url", envvar="SOAPBUS_DATABASE_URL", default=None,
                               help="SQLAlchemy URL (default: SQLite file in the data folder), "
                                    "e.g. postgresql+psycopg://user@host/db.")


def server_config(data_dir: Path, database_url: str | None, **kw) -> ServerConfig:
    return ServerConfig(data_dir=data_dir, database_url=database_url, **kw)


def open_store(data_dir: Path, database_url: str | None):
    from ..store import Store

    config = server_config(data_dir, database_url)
    url = config.resolved_database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise click.ClickException(f"no soapbus database at {url.removeprefix('sqlite:///')}; "
                                   "start the server once (`scripts/serve`, or `soapbus serve --data DIR`), "
                                   f"or say where it keeps its state with --data DIR, ${DATA_ENV} or --database")
    try:
        store = Store(url)
        store.create_schema()
    except Exception as exc:  # a wrong URL or an unreachable server: say which, no traceback
        raise click.ClickException(f"cannot open the database {url}: {exc}") from None
    return store


__all__ = ["data_option", "database_option", "server_config", "open_store", "DEFAULT_PORT", "default_data_dir",
           "checkout_root", "did_you_mean", "DATA_ENV"]
