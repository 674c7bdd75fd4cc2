"""Shared test setup.

Tests under ``tests/media`` and ``tests/e2e`` exchange real media and must run inside the test
network namespace that ``scripts/test`` creates (``scripts/netns``): Janus only offers ICE
candidates on a non-loopback interface, and the namespace keeps that traffic on 127.0.0.2, off the
machine's own addresses. They are marked ``netns``; ``scripts/test`` runs them in a second pytest
invocation inside the namespace. Run outside it, they fail with a clear message instead of skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.databases"]

NETNS_DIRS = ("media", "e2e")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def in_test_netns() -> bool:
    """True inside the namespace made by scripts/netns (it has 127.0.0.2 on a veth)."""
    return os.environ.get("CONVENE_TEST_NETNS") == "1" and Path("/sys/class/net/cvn0").exists()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts and parts[0] in NETNS_DIRS:
            item.add_marker(pytest.mark.netns)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("netns") and not in_test_netns():
        pytest.fail(
            "this test needs the media test network namespace: run it with scripts/test "
            "(or: sudo scripts/netns up && sudo ip netns exec convene-test env "
            "CONVENE_TEST_NETNS=1 .venv/bin/pytest ...)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server scripts/test found or started (SQLAlchemy asyncpg URL)."""
    return os.environ.get(
        "CONVENE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    )


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("CONVENE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
