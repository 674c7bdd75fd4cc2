"""The Origin rule: scheme, host and port must all match an origin Convene serves."""

from __future__ import annotations

from starlette.requests import Request

from convene.auth.csrf import origin_allowed, request_scheme
from convene.config import Settings


def _request(scheme: str, peer: str, headers: dict[str, str]) -> Request:
    return Request(
        {
            "type": "http",
            "scheme": scheme,
            "method": "POST",
            "path": "/",
            "query_string": b"",
            "server": ("convene.lan", 80),
            "client": (peer, 40000),
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
    )


def test_with_a_public_url_the_host_header_is_not_trusted() -> None:
    settings = Settings(public_url="https://meet.example.org")
    # A page on the same host but another scheme or port is another origin.
    assert not origin_allowed(settings, "http://meet.example.org", "meet.example.org", "http")
    assert not origin_allowed(settings, "https://other.example", "other.example", "https")
    assert origin_allowed(settings, "https://meet.example.org", "meet.example.org", "https")


def test_without_a_public_url_the_request_scheme_must_match() -> None:
    settings = Settings()
    assert origin_allowed(settings, "https://convene.lan", "convene.lan", "https")
    # The Host alone used to be enough, whatever the scheme of the page.
    assert not origin_allowed(settings, "http://convene.lan", "convene.lan", "https")
    assert not origin_allowed(settings, "https://convene.lan", "convene.lan", "http")
    assert not origin_allowed(settings, "https://convene.lan", "convene.lan", None)


def test_the_listening_address_only_with_the_scheme_served() -> None:
    plain = Settings(port=8080)
    assert origin_allowed(plain, "http://localhost:8080", None)
    assert not origin_allowed(plain, "https://localhost:8080", None)
    tls = Settings(port=8443, tls_cert="cert.pem", tls_key="key.pem")
    assert origin_allowed(tls, "https://localhost:8443", None)
    assert not origin_allowed(tls, "http://localhost:8443", None)


def test_forwarded_proto_only_from_a_trusted_proxy() -> None:
    settings = Settings(trusted_proxies=["10.0.0.1"])
    proxied = _request("http", "10.0.0.1", {"x-forwarded-proto": "https"})
    assert request_scheme(proxied, settings) == "https"
    direct = _request("http", "203.0.113.9", {"x-forwarded-proto": "https"})
    assert request_scheme(direct, settings) == "http"
    assert request_scheme(_request("wss", "203.0.113.9", {}), settings) == "https"
