"""Options and helpers shared by the commands."""
from __future__ import annotations

from pathlib import Path

import click

from ..server.config import DEFAULT_PORT, ServerConfig

data_option = click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("var"),
                           show_default=True, help="Folder for the SQLite database and other state.")
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
                                   "start the server once with `soapbus serve --data DIR` or give --data/--database")
    try:
        store = Store(url)
        store.create_schema()
    except Exception as exc:  # a wrong URL or an unreachable server: say which, no traceback
        raise click.ClickException(f"cannot open the database {url}: {exc}") from None
    return store


__all__ = ["data_option", "database_option", "server_config", "open_store", "DEFAULT_PORT"]
