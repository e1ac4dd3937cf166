"""Domain exceptions raised by services; app.py maps them to HTTP once."""

from __future__ import annotations


class DomainError(Exception):
    """Base of the errors a service raises on purpose."""

    status = 400

    def __init__(self, message: str, *, errors: dict | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.extra = extra


class NotFound(DomainError):
    status = 404


class Invalid(DomainError):
    """Input is well-formed but breaks a domain rule; `errors` names the fields."""

    status = 422


class Conflict(DomainError):
    status = 409


class Forbidden(DomainError):
    status = 403


class Unauthorized(DomainError):
    status = 401


class TooManyRequests(DomainError):
    """Refused for now; `retry_after` (seconds) says when to try again."""

    status = 429


class PreconditionRequired(DomainError):
    status = 428


class PreconditionFailed(DomainError):
    status = 412


def field_error(field: str, message: str) -> Invalid:
    """Build an Invalid error for one body field, in flask-smorest's error layout."""
    return Invalid(f"{field}: {message}", errors={"json": {field: [message]}})


NAMED_IN_AN_ERROR = 10  # ids an error names; a request may send tens of thousands


def first_of(values: list) -> str:
    """`values` as an error names them: the first NAMED_IN_AN_ERROR, and how many more there are."""
    more = len(values) - NAMED_IN_AN_ERROR
    return f"{values[:NAMED_IN_AN_ERROR]}" + (f" and {more} more" if more > 0 else "")
