"""Which network addresses the service may call (webhook receivers), decided in one place.

An address is public, private (loopback, private ranges, unspecified and the other ranges
that are not globally reachable) or never to be called: link-local addresses and the cloud
metadata services, which hand out the machine's credentials to whoever asks. Private ones
are called only when FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS allows it (the tests' receivers
listen on loopback); the others never are, whatever the setting.

IPv6 has forms that carry an IPv4 address, and a host's stack or the network's translator
sends their packets to that IPv4 address: IPv4-mapped (``::ffff:127.0.0.1``),
IPv4-compatible (``::127.0.0.1``), IPv4-translated (``::ffff:0:127.0.0.1``), NAT64
(``64:ff9b::7f00:1``) and 6to4 (``2002:7f00:1::``). Such an address is judged by the
strictest of itself and the IPv4 addresses it carries, so ``[::169.254.169.254]`` is the
metadata service, not a public IPv6 address.
"""

from __future__ import annotations

from enum import IntEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

Address = IPv4Address | IPv6Address


class Reach(IntEnum):
    """How far an address is from the public internet; a larger value is stricter."""

    PUBLIC = 0
    PRIVATE = 1
    """Called only when FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS allows it."""
    NEVER = 2
    """Link-local and cloud metadata: never called."""


NEVER_CALLED: tuple[tuple[IPv4Network | IPv6Network, str], ...] = (
    # AWS, GCP, Azure and Oracle serve instance metadata and credentials at 169.254.169.254.
    (ip_network("169.254.0.0/16"), "a link-local address, where cloud metadata services live"),
    (ip_network("fe80::/10"), "a link-local address"),
    (ip_network("fd00:ec2::254/128"), "AWS's IPv6 instance metadata service"),
    (ip_network("100.100.100.200/32"), "Alibaba Cloud's instance metadata service"),
)
"""Addresses never called, whatever the settings, and what each is."""

_IPV4_COMPATIBLE = ip_network("::/96")
_IPV4_TRANSLATED = ip_network("::ffff:0:0:0/96")
_NAT64_WELL_KNOWN = ip_network("64:ff9b::/96")
_NAT64_LOCAL_USE = ip_network("64:ff9b:1::/48")

NOT_GLOBAL = (
    # RFC 8215's local-use NAT64 prefix: a network's own translator, never routed globally
    # (Python 3.11's is_global does not know it yet).
    _NAT64_LOCAL_USE,
)
_RFC6052_PREFIX_LENGTHS = (48, 56, 64, 96)
"""The prefix lengths a local-use NAT64 prefix within a /48 may have (RFC 6052, 2.2)."""


def _rfc6052_ipv4(address: IPv6Address, prefix_length: int) -> IPv4Address:
    """The IPv4 address that a NAT64 prefix of ``prefix_length`` bits embeds in ``address``:
    the 32 bits after the prefix, skipping bits 64-71 (RFC 6052, 2.2)."""
    packed = address.packed
    if prefix_length < 96:
        packed = packed[:8] + packed[9:]
    start = prefix_length // 8
    return IPv4Address(packed[start : start + 4])


def embedded_ipv4(address: IPv6Address) -> tuple[IPv4Address, ...]:
    """The IPv4 addresses that ``address`` carries, if it is one of the forms that carry
    one; an address in the local-use NAT64 prefix may carry its IPv4 address at any of
    RFC 6052's positions, so each candidate is given."""
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    if address.sixtofour is not None:
        return (address.sixtofour,)
    low_32_bits = IPv4Address(address.packed[12:])
    if address in _IPV4_COMPATIBLE:
        # :: and ::1 are IPv6's own unspecified and loopback addresses, not IPv4 ones.
        return () if int(address) <= 1 else (low_32_bits,)
    if address in _IPV4_TRANSLATED or address in _NAT64_WELL_KNOWN:
        return (low_32_bits,)
    if address in _NAT64_LOCAL_USE:
        return tuple(_rfc6052_ipv4(address, n) for n in _RFC6052_PREFIX_LENGTHS)
    return ()


def _own_reach(address: Address) -> tuple[Reach, str]:
    for network, what in NEVER_CALLED:
        if address.version == network.version and address in network:
            return Reach.NEVER, what
    if not address.is_global or any(
        address.version == n.version and address in n for n in NOT_GLOBAL
    ):
        return Reach.PRIVATE, "a private, loopback or other non-public address"
    return Reach.PUBLIC, "a public address"


def reach(address: Address) -> tuple[Reach, str]:
    """How far ``address`` may be called, and what it is in words: the strictest of the
    address itself and every IPv4 address it carries (named when it decides)."""
    verdicts = [(*_own_reach(address), False)]
    if isinstance(address, IPv6Address):
        for ipv4 in embedded_ipv4(address):
            carried, what = _own_reach(ipv4)
            verdicts.append((carried, f"which carries {ipv4}, {what}", True))
    verdict, what, _ = max(verdicts, key=lambda v: (v[0], v[2]))
    return verdict, what


def refusal(address: Address, *, allow_private_networks: bool) -> str | None:
    """Why the service may not call ``address``, or None when it may. The one decision,
    for endpoint URLs when they are saved and for every DNS answer before each send."""
    verdict, what = reach(address)
    if verdict is Reach.NEVER:
        return f"{address}, {what}, which is never called"
    if verdict is Reach.PRIVATE and not allow_private_networks:
        return f"{address}, {what}; set FOURWAY_WEBHOOKS_ALLOW_PRIVATE_NETWORKS=true to allow it"
    return None
