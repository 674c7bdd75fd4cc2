"""The [worker] settings refuse a lease that heartbeats cannot keep alive."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from convene.config import Settings, WorkerSettings


def test_the_lease_must_outlast_two_heartbeats() -> None:
    assert WorkerSettings(heartbeat_seconds=2, lease_seconds=5).lease_seconds == 5
    with pytest.raises(ValidationError, match="lease_seconds"):
        WorkerSettings(heartbeat_seconds=2, lease_seconds=4)


def test_the_worker_section_reads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVENE_WORKER__EMBEDDED", "false")
    monkeypatch.setenv("CONVENE_WORKER__MEDIA_HOST", "10.0.0.5")
    settings = Settings()
    assert settings.worker.embedded is False
    assert settings.worker.media_host == "10.0.0.5"
