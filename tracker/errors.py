"""Domain errors. Each carries a stable code and a Chinese message for the user;
the web layer turns them into a form error, an HTML page or a JSON body."""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class ValidationFailed(DomainError):
    """Input that cannot be accepted; ``fields`` maps a field name to its message."""

    code = "invalid"
    http_status = 422


class BadInput(ValidationFailed):
    """Input no form could mean: a control character, a date outside 1900-2100, an unreadable
    week. 400 rather than 422: the request itself is unreadable. A form that shows errors beside
    its fields still catches it as a ValidationFailed."""

    code = "bad_input"
    http_status = 400


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class NotPermitted(DomainError):
    code = "forbidden"
    http_status = 403


class IllegalTransition(DomainError):
    """The task's status does not allow the action (e.g. closing a draft)."""

    code = "illegal_transition"
    http_status = 409


class Conflict(DomainError):
    code = "conflict"
    http_status = 409
