"""View helpers shared by every blueprint: role checks and the request's actor."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from tracker.models import Role


def roles_required(*roles: Role):
    """403 unless the logged-in user has one of the roles (login is enforced globally)."""
    allowed = {Role(r) for r in roles}

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated or Role(current_user.row.role) not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate
