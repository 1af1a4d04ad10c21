"""The listener firewall: `connections.allowed.cidrs`, the client addresses a listener accepts.

Pure logic: parsing the setting and deciding on one address; the broker applies it at accept and
when the setting changes.
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allowed_cidrs(text: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, 192.0.2.7` → networks (a bare address is a network of one); empty → ().
    Raises ValueError naming the first entry that is not a CIDR (or has host bits set)."""
    networks = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not a CIDR block: {exc}") from None
    return tuple(networks)


def is_allowed(networks: tuple[Network, ...], address: str) -> bool:
    """Whether a client at `address` may connect: any address when `networks` is empty. An IPv4
    client seen through an IPv6 socket (::ffff:a.b.c.d) is matched as IPv4; an address that does
    not parse is refused."""
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
