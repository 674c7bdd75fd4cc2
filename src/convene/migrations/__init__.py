"""Alembic migrations, shipped inside the package so ``convene migrate`` works when installed.

Applications call :meth:`convene.storage.db.Database.migrate`. Developers writing a new revision
after changing ``convene/storage/models.py``::

    CONVENE_DATABASE_URL=sqlite+aiosqlite:///var/dev.db python -m convene.migrations upgrade head
    CONVENE_DATABASE_URL=sqlite+aiosqlite:///var/dev.db python -m convene.migrations \\
        revision --autogenerate -m "what changed"

Review the generated file (and run ``ruff check --fix`` and ``ruff format`` on it): it must work
on SQLite (batch mode is on) and on PostgreSQL; the storage tests compare the migrated schema
with the models on both.
"""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config

__all__ = ["SCRIPT_LOCATION", "alembic_config"]

SCRIPT_LOCATION = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    """An Alembic configuration for this package's migrations and the database at ``url``.

    The URL travels in ``attributes``, not in the ini options, so that a ``%`` in a password is
    not taken for interpolation.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.attributes["url"] = url
    return cfg
