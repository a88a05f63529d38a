"""Exceptions of the client: one per kind of answer, each carrying the API's error code."""

from typing import Any, Dict, Optional


class EngramError(Exception):
    """An error answered by engram (or on the way to it).

    `code` is the API's stable error code (`not_found`, `conflict`, …), `status` the HTTP
    status (None when no answer came), `hint` what to do about it and `details` the error
    object's other fields (a conflict's `current_version`).
    """

    def __init__(
        self,
        message: str,
        code: str = "error",
        status: Optional[int] = None,
        hint: str = "",
        details: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.hint = hint
        self.details = details or {}


class InvalidRequest(EngramError):
    """400 or 422: the request is malformed or a field is invalid; the message names it."""


class Unauthorized(EngramError):
    """401: a key is missing or wrong."""


class Forbidden(EngramError):
    """403: the key is bound to another agent, or the operation needs an admin key."""


class NotFound(EngramError):
    """404: no such memory, session or group visible to this key."""


class Conflict(EngramError):
    """409: another writer changed the memory first; `current_version` is the version now."""

    @property
    def current_version(self) -> Optional[int]:
        return self.details.get("current_version")


class Overloaded(EngramError):
    """429 or 503: the server (or its store) cannot take the request now; retried."""


class QuotaExceeded(EngramError):
    """429 or 507 with code `quota_exceeded`: the key's agent owns as many records (429) or
    bytes (507) as the server's `[quotas]` allow. Not retried: only deleting some of the
    agent's records, or a raised quota, lets its writes through again. `details` has
    `quota` ("entries" or "bytes"), `used` and `limit`."""

    @property
    def quota(self) -> Optional[str]:
        return self.details.get("quota")


class ServerError(EngramError):
    """500: engram's own failure."""


class ConnectionFailed(EngramError):
    """No answer: the server could not be reached, or the connection broke."""


class CircuitOpen(EngramError):
    """The client's circuit breaker is open after repeated failures: failing fast."""


_BY_STATUS = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    415: InvalidRequest,
    422: InvalidRequest,
    429: Overloaded,
    503: Overloaded,
}


def from_response(status: int, body: Any) -> EngramError:
    """The exception of an error answer: `{"error": {"code", "message", "hint", …}}`."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": "http_error", "message": f"HTTP {status}: {body!r}"[:500]}
    details = {k: v for k, v in error.items() if k not in ("code", "message", "hint")}
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else EngramError)
    if error.get("code") == "quota_exceeded":
        kind = QuotaExceeded
    return kind(
        str(error.get("message", "")),
        code=str(error.get("code", "error")),
        status=status,
        hint=str(error.get("hint", "")),
        details=details,
    )
