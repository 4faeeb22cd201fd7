"""The schema revisions, oldest first by number; alembic reads them from this folder."""
