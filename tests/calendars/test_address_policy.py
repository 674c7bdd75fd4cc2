"""The calendar address policy: no IPv4 address reaches Convene in disguise.

An IPv6 transition address carries an IPv4 address that the network may route to; a number
written in octal, hex or short form is read by resolvers as an ordinary IPv4 address. Neither may
get past the policy that the plain dotted quad is held to.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convene.calendars.net import RemoteCalendarError, address_allowed, fetch, normalize_url
from convene.config import CalendarSettings

ipv4 = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)


def _forms(v4: ipaddress.IPv4Address) -> list[str]:
    n = int(v4)
    return [
        f"::ffff:{v4}",  # IPv4-mapped
        str(ipaddress.IPv6Address(n)),  # IPv4-compatible
        str(ipaddress.IPv6Address((0x0064FF9B << 96) | n)),  # NAT64
        str(ipaddress.IPv6Address((0x0064FF9B0001 << 80) | n)),  # NAT64, local use
        str(ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | 1)),  # 6to4
        # Teredo: the server in clear, the client obfuscated (inverted)
        str(ipaddress.IPv6Address((0x20010000 << 96) | (n << 64) | (n ^ 0xFFFFFFFF))),
    ]


@given(ipv4, st.booleans())
def test_an_embedded_ipv4_address_is_never_more_allowed_than_itself(
    v4: ipaddress.IPv4Address, allow_private: bool
) -> None:
    plain = address_allowed(str(v4), allow_private=allow_private)
    for form in _forms(v4):
        if address_allowed(form, allow_private=allow_private):
            assert plain, (form, str(v4))


@pytest.mark.parametrize(
    "address",
    ["::7f00:1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "::ffff:127.0.0.1", "64:ff9b:1::a00:1"],
)
def test_transition_forms_of_internal_addresses_are_refused(address: str) -> None:
    assert not address_allowed(address, allow_private=False)


@pytest.mark.parametrize(
    "address", ["64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::ffff:169.254.169.254"]
)
def test_link_local_stays_refused_even_with_private_addresses_allowed(address: str) -> None:
    assert not address_allowed(address, allow_private=True)


def test_public_addresses_behind_transition_prefixes_still_pass() -> None:
    assert address_allowed("64:ff9b::808:808", allow_private=False)
    assert address_allowed("2002:808:808::1", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://0177.0.0.1/",
        "http://0x7f.0.0.1/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://127.1/",
        "http://127.0.0.1./",
        "http://1.2.3.04/",
    ],
)
async def test_non_canonical_ipv4_hosts_are_refused_as_malformed(url: str) -> None:
    with pytest.raises(RemoteCalendarError) as refused:
        normalize_url(url)
    assert refused.value.reason == "malformed"
    with pytest.raises(RemoteCalendarError) as fetched:
        await fetch(url, CalendarSettings())
    assert fetched.value.reason == "malformed"


_RADIX = {"d": str, "o": lambda n: f"0{n:o}", "x": lambda n: f"0x{n:x}"}


@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4), st.sampled_from("dox"))
def test_any_numeric_host_is_a_canonical_address_or_malformed(parts: list[int], radix: str) -> None:
    host = ".".join(_RADIX[radix](p) for p in parts)
    canonical = True
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        canonical = False
    if canonical:
        assert normalize_url(f"http://{host}/") == f"http://{host}/"
    else:
        with pytest.raises(RemoteCalendarError) as refused:
            normalize_url(f"http://{host}/")
        assert refused.value.reason == "malformed"


def test_names_are_still_names() -> None:
    assert normalize_url("https://cal.example.org/x.ics") == "https://cal.example.org/x.ics"
    assert normalize_url("https://1e100.net/") == "https://1e100.net/"
