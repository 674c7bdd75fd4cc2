"""The ``convene`` command line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from convene.cli import app
from tests.storage.databases import sqlite_url

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "CONVENE_DATA_DIR": str(tmp_path),
        "CONVENE_DATABASE_URL": sqlite_url(tmp_path / "cli.db"),
    }


def test_config_hides_secrets(env: dict[str, str]) -> None:
    result = runner.invoke(
        app,
        ["config"],
        env=env
        | {
            "CONVENE_JANUS__API_SECRET": "janus-api-secret-value",
            "CONVENE_ICE__TURN_SECRET": "turn-secret-value",
            "CONVENE_BUS_URL": "redis://:bus-password@redis:6379/0",
            "CONVENE_DATABASE_URL": "postgresql://convene:db-password@db/convene",
        },
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["janus"]["api_secret"] == "***"
    assert shown["ice"]["turn_secret"] == "***"
    assert shown["database_url"] == "postgresql://convene:***@db/convene"
    assert shown["bus_url"] == "redis://:***@redis:6379/0"
    for secret in ("janus-api-secret-value", "turn-secret-value", "bus-password", "db-password"):
        assert secret not in result.output


def test_config_reads_a_toml_file(tmp_path: Path, env: dict[str, str]) -> None:
    config = tmp_path / "convene.toml"
    config.write_text("port = 9090\n[meetings]\ncode_digits = 10\n")
    result = runner.invoke(app, ["config", "--config", str(config)], env=env)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["port"] == 9090
    assert shown["meetings"]["code_digits"] == 10


def test_bad_settings_are_reported(tmp_path: Path, env: dict[str, str]) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("port = 'eighty'\n")
    result = runner.invoke(app, ["config", "--config", str(config)], env=env)
    assert result.exit_code == 2
    assert "Invalid settings" in result.output


def test_migrate_then_create_user(env: dict[str, str]) -> None:
    first = runner.invoke(app, ["migrate"], env=env)
    assert first.exit_code == 0, first.output
    assert "migrated from empty" in first.output
    again = runner.invoke(app, ["migrate"], env=env)
    assert "already up to date" in again.output

    args = ["create-user", "--email", "Admin@Example.org", "--name", "Admin"]
    created = runner.invoke(app, args, env=env, input="long password\nlong password\n")
    assert created.exit_code == 0, created.output
    assert "Created user admin@example.org" in created.output
    assert "long password" not in created.output

    duplicate = runner.invoke(app, args, env=env, input="long password\nlong password\n")
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output

    short = runner.invoke(
        app,
        ["create-user", "--email", "b@example.org", "--name", "B"],
        env=env,
        input="short\nshort\n",
    )
    assert short.exit_code == 1
    assert "8 to 256" in short.output


def test_serve_prints_its_url_and_serves(tmp_path: Path, env: dict[str, str]) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", "from convene.cli import main; main()", "serve", "--port", "0"],
        env={**os.environ, **env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            url = None
            # readline() blocks; the pytest timeout bounds a server that never starts.
            for line in process.stdout:
                found = re.search(r"http://localhost:\d+", line)
                if found:
                    url = found.group(0)
                    break
            assert url, "the server did not print its URL"
            health = httpx.get(f"{url}/healthz", timeout=10)
            assert health.json()["database"] == "ok"
        finally:
            process.terminate()
            process.wait(timeout=30)
