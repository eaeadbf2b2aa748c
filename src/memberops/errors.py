"""Typed domain errors (DESIGN rule 11), each with a stable machine code and HTTP status.

The API maps them to RFC 9457 problem+json; the CLI to a one-line message and exit code.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error a user can cause; raising one rolls the unit of work back."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.extra = extra


class ValidationFailed(DomainError):
    status = 422
    default_code = "validation_error"
    title = "Invalid input"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, code=code, **extra)
        self.errors = errors or []
        if self.errors:
            self.extra["errors"] = self.errors


def field_error(field: str, reason: str, code: str = "validation_error",
                **extra: Any) -> ValidationFailed:
    """A 422 naming the field at fault, in the shape the API gives its own validation errors."""
    return ValidationFailed(f"{field}: {reason}", code=code,
                            errors=[{"field": field, "reason": reason}], **extra)


class NotFound(DomainError):
    status = 404
    default_code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    default_code = "conflict"
    title = "Conflict"


class RuleViolated(DomainError):
    status = 422
    default_code = "rule_violated"
    title = "Rule violated"


class InsufficientBalance(DomainError):
    status = 422
    default_code = "insufficient_balance"
    title = "Insufficient balance"


class IdempotencyMismatch(Conflict):
    default_code = "idempotency_key_reused"
    title = "Idempotency key reused with another request"


class RequestInProgress(Conflict):
    default_code = "request_in_progress"
    title = "A request with this idempotency key is still running"


class Unauthenticated(DomainError):
    status = 401
    default_code = "unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    default_code = "forbidden"
    title = "Forbidden"


class SchemaOutOfDate(DomainError):
    """The database is not at the code's migration head (older or newer)."""

    status = 503
    default_code = "schema_out_of_date"
    title = "Database schema out of date"
