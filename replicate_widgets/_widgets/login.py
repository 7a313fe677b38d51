"""``login()``: a password box whose token reaches the kernel by message only."""

from __future__ import annotations

import threading
from typing import Any

import traitlets

from replicate_widgets._client import auth as _auth

from .view import STATIC, View


class Login(View):
    """A password field for a Replicate API token.

    The token travels from the browser to the kernel as a one-off custom message and
    is kept only in this process's memory (see
    :mod:`replicate_widgets._client.auth`). No trait ever holds it, so the widget state
    saved with a notebook cannot contain it.
    """

    _esm = STATIC / "login.js"

    status = traitlets.Unicode("").tag(sync=True)
    """What happened to the last token, in words for the person (never the token)."""

    state = traitlets.Enum(
        ["empty", "checking", "ok", "error", "unverified"], default_value="empty"
    ).tag(sync=True)
    """``empty`` (no token), ``checking``, ``ok``, ``error`` or ``unverified``."""

    def __init__(self, *, verify: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._verify = verify
        if _auth.get_token():
            self.state = "ok"
            self.status = f"A token is already set for this kernel. {_next()}"
        self.on_msg(self._on_message)

    def _on_message(self, _widget: object, content: Any, _buffers: object) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "forget":
            _auth.set_token(None)
            self.state = "empty"
            self.status = f"Token forgotten for this kernel. {_next()}"
        elif kind == "token":
            token = content.get("token")
            self.submit(token if isinstance(token, str) else "")

    def submit(self, token: str) -> None:
        """Use ``token`` for this kernel, as if typed into the box."""
        problem = _auth.check_token(token)
        if problem:
            self.state, self.status = "error", problem
            return
        _auth.set_token(token)
        if not self._verify:
            self.state = "ok"
            self.status = f"Token set for this kernel (kept in memory only). {_next()}"
            return
        self.state, self.status = "checking", "Checking the token with Replicate..."
        # The check is network I/O; a thread keeps the kernel free and, unlike the
        # kernel's own loop, still reports while another cell blocks.
        threading.Thread(target=self._check, args=(token,), daemon=True).start()

    def _check(self, token: str) -> None:
        from replicate_widgets._client.errors import AuthenticationError, ReplicateError

        try:
            from replicate_widgets._client.client import Client

            with Client(api_token=token) as client:
                account = client.account.get()
        except AuthenticationError:
            _auth.set_token(None)
            self.state = "error"
            self.status = (
                "Replicate rejected this token. Copy a current one from "
                "https://replicate.com/account/api-tokens and paste it again."
            )
        except ReplicateError as exc:
            # Offline, say so: every new widget would otherwise try a backend it
            # cannot reach, while the local models still work.
            self.state = "unverified"
            self.status = (
                "Token set for this kernel, but it could not be checked "
                f"({type(exc).__name__}: Replicate cannot be reached now). "
                f"{_next()} Runs there fail until it can be reached."
            )
        else:
            name = getattr(account, "username", None) or "your account"
            self.state = "ok"
            self.status = f"Signed in to Replicate as {name}. {_next()}"


def _next() -> str:
    """Which backend new widgets use now, and how to get the local models back."""
    from .backend import default_backend

    where = default_backend()
    if where == "the local backend":
        return "New widgets use the local backend."
    return (
        f'New widgets use {where}; for the local models, pass backend="local" '
        "(or press Forget)."
    )


def login(*, verify: bool = True) -> Login:
    """Show a password box for a Replicate API token and keep the token in memory.

    Parameters
    ----------
    verify
        Check the token with ``GET /v1/account`` after it is entered.

    Returns
    -------
    Login
        The widget; display it (it is the cell's value when called last in a cell).

    Notes
    -----
    The token never enters a widget trait, the notebook file, the kernel's history or
    any output: it reaches the kernel as a message and lives in
    :mod:`replicate_widgets._client.auth` until the kernel stops. Clients and widgets
    created afterwards use it and therefore talk to api.replicate.com.
    """
    return Login(verify=verify)
