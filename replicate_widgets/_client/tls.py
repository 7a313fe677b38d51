"""The clients' TLS context, which loads its certificates at the first TLS connection.

httpx builds a TLS context for each client it makes, whether or not the client
ever speaks TLS, and loading certifi's certificates into it takes 25 to 50 ms of
CPU: about a tenth of the time from running ``rw.Playground(...)`` in a fresh
kernel to seeing its form, spent on a client of the local backend (plain HTTP on
127.0.0.1). :func:`client_context` returns the context httpx would build, with
the same certificates (``SSL_CERT_FILE``, ``SSL_CERT_DIR``, else certifi), the
same checks (``CERT_REQUIRED``, host names) and ``SSLKEYLOGFILE``, except that
the certificates are loaded just before its first handshake: a client that only
speaks HTTP never loads them. (Loading them in a background thread instead would
leave a process forked meanwhile with OpenSSL's locks held, and hang it.)
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
import threading
from typing import Any

import certifi

__all__ = ["client_context"]


class _LoadOnFirstUse(ssl.SSLContext):
    """An ``SSLContext`` whose trusted certificates load before its first use."""

    _loaded = False
    _lock: threading.Lock

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            if os.environ.get("SSL_CERT_FILE"):
                self.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
            elif os.environ.get("SSL_CERT_DIR"):
                self.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
            else:
                self.load_verify_locations(cafile=certifi.where())
            self._loaded = True

    # The two ways a context is used for a connection (sockets: httpx's sync
    # client; memory BIOs: anyio, under the async client).
    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
        self._load()
        return super().wrap_socket(sock, *args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> Any:
        self._load()
        return super().wrap_bio(*args, **kwargs)


def client_context() -> ssl.SSLContext:
    """Return a new verifying client context (what ``httpx.create_ssl_context()`` is).

    As ``ssl.create_default_context()`` makes it, certificates aside: TLS client
    protocol, certificates required, host names checked, ``SSLKEYLOGFILE``.
    """
    context = _LoadOnFirstUse(ssl.PROTOCOL_TLS_CLIENT)
    context._lock = threading.Lock()
    context.verify_mode = ssl.CERT_REQUIRED
    context.check_hostname = True
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        context.keylog_filename = keylog
    return context
