"""The data folder and every file holding secrets are private to the user running Convene."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from convene.config import Settings, load_secrets
from convene.storage.db import Database
from tests.storage.databases import sqlite_url


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most systems run services with, which makes new files world-readable."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def test_a_new_sqlite_database_and_its_wal_are_private(tmp_path: Path) -> None:
    data = tmp_path / "var" / "convene"
    settings = Settings(data_dir=data)
    db = Database.from_settings(settings)
    try:
        await db.migrate()
        await db.users.create(email="a@example.org", display_name="A", password_hash="x")
        assert (data / "convene.db-wal").exists()
        for name in ("convene.db", "convene.db-wal", "convene.db-shm"):
            assert _mode(data / name) == 0o600, name
    finally:
        await db.close()
    assert _mode(data) == 0o700
    load_secrets(settings)
    assert _mode(data / "secrets.json") == 0o600


async def test_existing_readable_files_are_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "convene.db"
    path.touch(mode=0o644)
    secrets_file = tmp_path / "secrets.json"
    load_secrets(Settings(data_dir=tmp_path))
    secrets_file.chmod(0o644)
    db = Database(sqlite_url(path))
    try:
        await db.migrate()
    finally:
        await db.close()
    assert _mode(path) == 0o600
    load_secrets(Settings(data_dir=tmp_path))
    assert _mode(secrets_file) == 0o600
