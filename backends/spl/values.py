"""How SPL's ``search`` reads a value, where the reader and the emitter must agree.

Kept apart from the grammar's builder so that writing SPL does not import the parser.
"""

from __future__ import annotations

import ipaddress


def network_of(text: str) -> str | None:
    """The network ``text`` names (``10.0.0.0/8``, ``fe80::/10``), normalised; else ``None``.

    ``search`` reads ``f=10.0.0.0/8`` (quoted or not) as CIDR matching, not as equal text
    (Search Reference, "search": IP addresses in CIDR notation)."""
    if "/" not in text:
        return None
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return None


def search_network(text: str) -> str | None:
    """The network ``search`` matches for the value ``f=text``: :func:`network_of` of a value
    without a ``*`` (one with a wildcard is a pattern, whatever it looks like)."""
    return None if "*" in text else network_of(text)
