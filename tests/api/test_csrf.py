from __future__ import annotations

import pytest

from convene.auth.csrf import normalize_origin, origin_allowed
from convene.config import Settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://Meet.Example.org", "https://meet.example.org"),
        ("https://meet.example.org:443", "https://meet.example.org"),
        ("http://localhost:8080/", "http://localhost:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("null", None),
        ("file://", None),
        ("javascript:alert(1)", None),
        ("https://host:99999", None),
    ],
)
def test_normalize_origin(value: str, expected: str | None) -> None:
    assert normalize_origin(value) == expected


def test_allowed_origins() -> None:
    settings = Settings(
        public_url="https://meet.example.org", allowed_origins=["https://app.example.org"]
    )
    assert origin_allowed(settings, "https://meet.example.org", None)
    assert origin_allowed(settings, "https://app.example.org", None)
    assert origin_allowed(settings, "http://localhost:8080", None)
    assert origin_allowed(settings, "http://127.0.0.1:8080", None)
    assert not origin_allowed(settings, "https://evil.example", None)
    assert not origin_allowed(settings, "https://meet.example.org.evil.example", None)
    assert not origin_allowed(settings, "http://meet.example.org", None)
    assert not origin_allowed(settings, "null", "meet.example.org")


def test_same_host_as_the_request() -> None:
    settings = Settings()
    # Behind a proxy without public_url: the page and the API share the browser's host.
    assert origin_allowed(settings, "https://convene.lan", "convene.lan", "https")
    assert origin_allowed(settings, "https://convene.lan", "convene.lan:443", "https")
    assert not origin_allowed(settings, "https://evil.example", "convene.lan", "https")
    assert not origin_allowed(settings, "https://convene.lan:8443", "convene.lan", "https")
