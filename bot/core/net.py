"""Network addresses: which interfaces are this machine's own."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback interface (an address or `localhost`).

    Args:
        host: An interface to listen on, as configured.

    Returns:
        True for 127.0.0.0/8, ::1 and `localhost`.
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip()).is_loopback
    except ValueError:
        return False
