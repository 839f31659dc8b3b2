"""The "trusted browser" cookie: the accounts that have logged in from this browser before.

Login throttling counts a try from such a browser on the browser's own count rather than on the
account's and the address's (``tracker/services/accounts/throttle.py``), so an attacker elsewhere
hammering an account, or a colleague behind the same proxy spraying passwords, does not keep its
owner out. The cookie is signed with the app's secret key (it cannot be made up or edited), lives
``MAX_AGE`` and holds a random browser id and at most ``MAX_ACCOUNTS`` login names.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import Request, Response, current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "duban_device"
MAX_AGE = timedelta(days=90)
MAX_ACCOUNTS = 10


@dataclass(frozen=True)
class Device:
    id: str
    usernames: tuple[str, ...] = ()

    def trusts(self, username: str) -> str | None:
        """The browser's id when ``username`` has logged in here before; None otherwise."""
        return self.id if username in self.usernames else None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="trusted-device")


def read(request: Request) -> Device:
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data = _serializer().loads(raw, max_age=int(MAX_AGE.total_seconds()))
            return Device(str(data["d"]), tuple(str(u) for u in data["u"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            pass
    return Device(secrets.token_urlsafe(16))


def remember(response: Response, device: Device, username: str) -> None:
    """After a successful login: this browser is trusted for ``username`` from now on."""
    names = (username, *(u for u in device.usernames if u != username))[:MAX_ACCOUNTS]
    response.set_cookie(
        COOKIE,
        _serializer().dumps({"d": device.id, "u": list(names)}),
        max_age=int(MAX_AGE.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
