"""Who is calling: the client address (behind trusted proxies) and the allow list."""

from __future__ import annotations

import ipaddress
from typing import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

IPV6_HOST_PREFIX = 64  # an IPv6 host is commonly given a whole /64, and picks its address in it at will


def networks(entries: Iterable[str], setting: str) -> tuple[Network, ...]:
    """``entries`` (addresses or CIDR blocks) as networks; raises ValueError naming ``setting``."""
    out = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ValueError(f"{setting}: {entry!r} is not an IP address or CIDR block") from None
    return tuple(out)


def address(text: str | None) -> Address | None:
    """An address as written by a peer or a proxy, or None when it is not one."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "1.2.3.4:5678"
        text = text.split(":", 1)[0]
    try:
        found = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(found, ipaddress.IPv6Address) and found.ipv4_mapped is not None:
        return found.ipv4_mapped
    return found


def host_of(addr: Address) -> Address | Network:
    """What stands for one client host in a count per address (the connections, the failed
    logins): an IPv4 address itself, an IPv6 address's /64, in which a host may take a new
    address for each request."""
    if isinstance(addr, ipaddress.IPv6Address):
        return ipaddress.IPv6Network((addr, IPV6_HOST_PREFIX), strict=False)
    return addr


def within(addr: Address | None, nets: tuple[Network, ...]) -> bool:
    return addr is not None and any(addr.version == n.version and addr in n for n in nets)


def client_address(peer: str | None, forwarded_for: list[str], trusted: tuple[Network, ...]) -> Address | None:
    """The peer, unless it is a trusted proxy: then the right-most X-Forwarded-For entry that
    is not a trusted proxy (the one the nearest untrusted hop told the proxies)."""
    addr = address(peer)
    if not within(addr, trusted):
        return addr
    hops = [h for header in forwarded_for for h in header.split(",") if h.strip()]
    for hop in reversed(hops):
        hop_addr = address(hop)
        if not within(hop_addr, trusted):
            return hop_addr  # None when the entry is garbage: such a client is allowed nowhere
    return address(hops[0]) if hops else addr


class Gate:
    """``allow_ips`` and ``trusted_proxies`` of a ServerConfig, parsed once."""

    def __init__(self, allow_ips: Iterable[str], trusted_proxies: Iterable[str]):
        self.allow = networks(allow_ips, "server.allow_ips")
        self.trusted = networks(trusted_proxies, "server.trusted_proxies")

    def client(self, peer: str | None, forwarded_for: list[str]) -> Address | None:
        return client_address(peer, forwarded_for, self.trusted)

    def allows(self, client: Address | None) -> bool:
        return not self.allow or within(client, self.allow)

