"""Schema revisions of the store (alembic), and the runner that applies them.

Every change to a table in soapbus/store/schema.py comes with a revision in versions/ (see
docs/upgrading.md); tests/test_migrations.py fails while the tables the revisions build differ
from schema.py's. `python -m soapbus.store.migrations "what changed"` drafts the next revision.
"""
from .revisions import VERSION_TABLE, Revision, head, history
from .runner import (SchemaNotCurrent, SchemaState, Standing, Upgrade, UpgradeRefused, prepare, read_state,
                     upgrade_to)

__all__ = ["VERSION_TABLE", "Revision", "head", "history", "SchemaNotCurrent", "SchemaState", "Standing", "Upgrade",
           "UpgradeRefused", "prepare", "read_state", "upgrade_to"]
