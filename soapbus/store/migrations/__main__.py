"""`python -m soapbus.store.migrations "what changed"`: draft the next schema revision.

Run it in a checkout after changing a table in soapbus/store/schema.py. It builds the newest
revision's tables in a scratch SQLite database in memory, compares them with schema.py (alembic's
autogenerate) and writes versions/<next number>_<what changed>.py with the operations found, in
batch form (so that SQLite, which cannot alter a table in place, copies it). Then read it and
finish it by hand (docs/upgrading.md): autogenerate does not compare CHECK constraints or a
partial index's condition, a revision that alters a table on SQLite should give the table as
the previous revision left it (copy_from, as 0002 does), and data a new constraint would refuse
needs handling. tests/test_migrations.py fails until the revisions build exactly schema.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from .revisions import HERE, alembic_config, head


def next_revision_id() -> str:
    return f"{int(head()) + 1:04d}"


def draft(message: str, versions_dir: Path | None = None) -> Path:
    """Write the draft of the next revision (into versions/, or `versions_dir`); returns its path."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    try:
        with engine.begin() as connection:
            config = alembic_config(connection)
            if versions_dir is not None:
                config.set_main_option("version_locations", f"{HERE / 'versions'} {versions_dir}")
            command.upgrade(config, "head")
            config.attributes["drafting"] = True
            script = command.revision(config, message=message, autogenerate=True, rev_id=next_revision_id(),
                                      version_path=None if versions_dir is None else str(versions_dir))
    finally:
        engine.dispose()
    return Path(script.path)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].strip():
        print('usage: python -m soapbus.store.migrations "what changed"', file=sys.stderr)
        return 2
    if not (HERE.parents[2] / "setup.py").is_file():
        print(f"{HERE} is not in a soapbus checkout: draft revisions where the source is kept", file=sys.stderr)
        return 2
    path = draft(argv[0].strip())
    print(f"drafted {path}: finish it by hand (docs/upgrading.md), then run tests/test_migrations.py")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
