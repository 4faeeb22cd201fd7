"""`soapbus db`: the store's schema revision: where it stands, upgrading it, the revisions known."""
from __future__ import annotations

from pathlib import Path

import click

from .common import data_option, database_option, server_config


@click.group()
def db() -> None:
    """The database schema: which revision a store is at, and upgrading it (docs/upgrading.md)."""


@db.command()
@data_option
@database_option
def current(data_dir: Path, database_url: str | None) -> None:
    """Print the store's schema revision.

    Exit status: 0 when this soapbus can serve the store as it is (at the newest revision, or
    empty), 1 when it cannot (an older revision: run `soapbus db upgrade`; one a newer soapbus
    wrote; unrecognised tables) or the database cannot be read.
    """
    from ..store import Standing

    url, store = _open(data_dir, database_url)
    with store:
        state = _run(url, store.schema_state, "cannot read the schema revision")
    click.echo(f"{url}: {state.describe()}")
    if state.standing not in (Standing.AT_HEAD, Standing.EMPTY):
        click.echo(state.problem(), err=True)
        raise SystemExit(1)


@db.command()
@data_option
@database_option
@click.option("--to", "target", default="head", show_default=True, metavar="REVISION",
              help="The revision to upgrade to (`soapbus db history` lists them); head is the newest.")
def upgrade(data_dir: Path, database_url: str | None, target: str) -> None:
    """Upgrade the store's schema to this soapbus's newest revision (or --to), in one transaction.

    Stop the servers that use the database and back it up first. A store made before soapbus
    kept revisions (0.1.0) is recognised by its tables and upgraded from there.
    """
    url, store = _open(data_dir, database_url)
    with store:
        done = _run(url, lambda: store.upgrade_schema(target), "the upgrade failed and changed nothing")
    before, after = done.before, done.after
    if not done.changed:
        click.echo(f"{url}: already at revision {after.revision}; nothing to do")
    elif before.revision is None:
        click.echo(f"{url}: created the schema at revision {after.revision}")
    elif before.revision == after.revision:
        click.echo(f"{url}: recorded revision {after.revision}, which its tables (made before revisions "
                   "were kept) equal")
    else:
        click.echo(f"{url}: upgraded from revision {before.revision} to {after.revision}")


@db.command()
def history() -> None:
    """List the schema revisions this soapbus knows, newest first."""
    from ..store.migrations import head, history as revisions

    newest = head()
    for revision in revisions():
        click.echo(f"{revision.id}{' (newest)' if revision.id == newest else ''}  {revision.title}")


def _open(data_dir: Path, database_url: str | None):
    """(the URL as shown, the Store); a SQLite file that does not exist is refused, not created."""
    from sqlalchemy.engine import make_url

    from ..store import Store

    url = server_config(data_dir, database_url).resolved_database_url()
    shown = make_url(url).render_as_string(hide_password=True)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise click.ClickException(f"no soapbus database at {url.removeprefix('sqlite:///')}; `soapbus serve` "
                                   "creates one at the newest revision, or give --data/--database")
    try:
        return shown, Store(url)
    except (ValueError, OSError) as exc:
        raise click.ClickException(f"cannot use the database {shown}: {exc}") from None


def _run(url: str, work, failed: str):
    """Run one schema operation; every way it can fail becomes one line naming the database
    (`failed` says what a database error meant)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..store import SchemaNotCurrent, StoreUnavailable, UpgradeRefused

    try:
        return work()
    except StoreUnavailable as exc:
        raise click.ClickException(f"cannot reach the database {url}: {exc.reason}") from None
    except (SchemaNotCurrent, UpgradeRefused, ValueError) as exc:
        raise click.ClickException(f"{url}: {exc}") from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"{url}: {failed}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None


__all__ = ["db"]
