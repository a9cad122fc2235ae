"""Which addresses the service may call: one table, every IPv6 form that carries an IPv4
address judged by that address, with private networks allowed and not."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address

import pytest

from services.webhooks.addresses import Reach, embedded_ipv4, reach, refusal

PUBLIC, PRIVATE, NEVER = Reach.PUBLIC, Reach.PRIVATE, Reach.NEVER

# address, how far it may be called, the IPv4 address it carries (if any)
ADDRESSES = [
    ("8.8.8.8", PUBLIC, None),
    ("2606:4700:4700::1111", PUBLIC, None),
    ("::ffff:8.8.8.8", PUBLIC, "8.8.8.8"),  # IPv4-mapped
    ("::8.8.8.8", PUBLIC, "8.8.8.8"),  # IPv4-compatible
    ("::ffff:0:8.8.8.8", PUBLIC, "8.8.8.8"),  # IPv4-translated
    ("64:ff9b::8.8.8.8", PUBLIC, "8.8.8.8"),  # NAT64, the well-known prefix
    ("2002:808:808::1", PUBLIC, "8.8.8.8"),  # 6to4
    ("127.0.0.1", PRIVATE, None),
    ("10.1.2.3", PRIVATE, None),
    ("172.16.0.1", PRIVATE, None),
    ("192.168.0.1", PRIVATE, None),
    ("100.64.0.1", PRIVATE, None),  # carrier-grade NAT
    ("0.0.0.0", PRIVATE, None),
    ("::1", PRIVATE, None),
    ("::", PRIVATE, None),
    ("fc00::1", PRIVATE, None),
    ("fd12:3456::1", PRIVATE, None),
    ("::127.0.0.1", PRIVATE, "127.0.0.1"),
    ("::ffff:127.0.0.1", PRIVATE, "127.0.0.1"),
    ("::ffff:10.0.0.1", PRIVATE, "10.0.0.1"),
    ("::ffff:0:127.0.0.1", PRIVATE, "127.0.0.1"),
    ("64:ff9b::7f00:1", PRIVATE, "127.0.0.1"),
    ("64:ff9b::192.168.1.1", PRIVATE, "192.168.1.1"),
    ("2002:7f00:1::", PRIVATE, "127.0.0.1"),
    ("2002:c0a8:101::1", PRIVATE, "192.168.1.1"),
    ("64:ff9b:1::8.8.8.8", PRIVATE, None),  # local-use NAT64: a network's own translator
    ("169.254.169.254", NEVER, None),
    ("169.254.0.1", NEVER, None),
    ("fe80::1", NEVER, None),
    ("fe80::1%2", NEVER, None),
    ("fd00:ec2::254", NEVER, None),
    ("100.100.100.200", NEVER, None),
    ("::169.254.169.254", NEVER, "169.254.169.254"),
    ("::ffff:169.254.169.254", NEVER, "169.254.169.254"),
    ("::ffff:0:169.254.169.254", NEVER, "169.254.169.254"),
    ("64:ff9b::a9fe:a9fe", NEVER, "169.254.169.254"),
    ("64:ff9b:1::a9fe:a9fe", NEVER, "169.254.169.254"),  # local-use NAT64, a /96
    ("64:ff9b:1:a9fe:a9:fe00::", NEVER, "169.254.169.254"),  # local-use NAT64, a /48
    ("64:ff9b:1:0:a9:fea9:fe00:0", NEVER, "169.254.169.254"),  # local-use NAT64, a /64
    ("2002:a9fe:a9fe::1", NEVER, "169.254.169.254"),
    ("2002:a9fe:1::", NEVER, "169.254.0.1"),
    ("::ffff:100.100.100.200", NEVER, "100.100.100.200"),
]


@pytest.mark.parametrize(("text", "expected", "carried"), ADDRESSES)
def test_an_address_is_judged_by_the_strictest_of_itself_and_what_it_carries(
    text, expected, carried
):
    address = ip_address(text)
    verdict, what = reach(address)
    assert verdict is expected
    if carried is not None and expected is not PUBLIC:
        assert f"carries {carried}" in what


@pytest.mark.parametrize(("text", "expected", "carried"), ADDRESSES)
def test_only_private_addresses_are_allowed_by_the_setting(text, expected, carried):
    address = ip_address(text)
    allowed_by_default = refusal(address, allow_private_networks=False) is None
    allowed_when_private_is = refusal(address, allow_private_networks=True) is None
    assert (allowed_by_default, allowed_when_private_is) == {
        PUBLIC: (True, True),
        PRIVATE: (False, True),
        NEVER: (False, False),
    }[expected]


def test_the_refusal_says_what_the_address_carries_and_whether_the_setting_helps():
    private = refusal(ip_address("::127.0.0.1"), allow_private_networks=False)
    assert private == (
        "::7f00:1, which carries 127.0.0.1, a private, loopback or other non-public "
        "address; set FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true to allow it"
    )
    metadata = refusal(ip_address("::169.254.169.254"), allow_private_networks=True)
    assert metadata == (
        "::a9fe:a9fe, which carries 169.254.169.254, a link-local address, where cloud "
        "metadata services live, which is never called"
    )


@pytest.mark.parametrize("text", ["::", "::1", "2001:db8::1", "fe80::7f00:1"])
def test_ipv6_addresses_of_no_embedding_form_carry_no_ipv4(text):
    assert embedded_ipv4(ip_address(text)) == ()


def test_the_ipv4_compatible_form_starts_after_ipv6s_own_loopback():
    assert embedded_ipv4(ip_address("::2")) == (IPv4Address("0.0.0.2"),)
