"""Alembic migrations of the job database. Released revisions are never edited."""
