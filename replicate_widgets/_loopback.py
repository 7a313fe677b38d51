"""Which host names are this machine: the one home of the rule.

A leaf module (standard library only) shared by the client, which treats a base
URL on this machine as the local backend, and by the server's gate, which only
answers requests naming this machine when it has no token (so that a web page
cannot reach it through a DNS name it controls).
"""

from __future__ import annotations

import functools
import ipaddress


# Cached: the server's gate asks for every request, and a client sends the same
# Host each time (``ipaddress`` costs more than the rest of the check). Bounded,
# so a caller sending a new name each time cannot grow it.
@functools.lru_cache(maxsize=256)
def is_loopback_host(name: str) -> bool:
    """Whether a host name is this machine.

    ``localhost`` and names under ``.localhost`` (which RFC 6761 reserves for
    this machine and browsers resolve without DNS), and loopback addresses
    (``127.0.0.0/8``, ``::1``). ``name`` is a bare host: no port, no brackets.
    """
    name = name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
