"""Domain errors and their mapping to RFC 9457 problem documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class ProblemError(Exception):
    """An error a client caused or must handle; rendered as problem+json."""

    status: int = 400
    title: str = "Bad Request"
    code: str = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": f"https://moderation.invalid/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.errors:
            doc["errors"] = [e.as_dict() for e in self.errors]
        doc.update(self.extra)
        return doc


class MalformedJSON(ProblemError):
    status, title, code = 400, "Malformed JSON", "malformed_json"


class ValidationFailed(ProblemError):
    status, title, code = 422, "Validation failed", "validation_failed"


class IdempotencyMismatch(ProblemError):
    status, title, code = 422, "Idempotency-Key reused", "idempotency_key_reused"


class Unauthorized(ProblemError):
    status, title, code = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str = "missing or unknown credentials") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="moderation"'})


class Forbidden(ProblemError):
    status, title, code = 403, "Forbidden", "forbidden"


class CsrfFailed(ProblemError):
    status, title, code = 403, "Forbidden", "csrf_failed"


class NotFound(ProblemError):
    status, title, code = 404, "Not Found", "not_found"


class Gone(ProblemError):
    status, title, code = 410, "Gone", "gone"


class MethodNotAllowed(ProblemError):
    status, title, code = 405, "Method Not Allowed", "method_not_allowed"


class Conflict(ProblemError):
    status, title, code = 409, "Conflict", "conflict"


class RevisionConflict(ProblemError):
    """A decision based on a revision of the comment that is no longer current."""

    status, title, code = 409, "Revision conflict", "revision_conflict"


class Duplicate(ProblemError):
    status, title, code = 409, "Duplicate comment", "duplicate"


class VersionConflict(ProblemError):
    """An edit based on a version of the site's settings that is no longer current."""

    status, title, code = 409, "Version conflict", "version_conflict"


class PayloadTooLarge(ProblemError):
    status, title, code = 413, "Payload Too Large", "payload_too_large"


class UnsupportedMediaType(ProblemError):
    status, title, code = 415, "Unsupported Media Type", "unsupported_media_type"


class RequestTimeout(ProblemError):
    status, title, code = 408, "Request Timeout", "request_timeout"

    def __init__(self, detail: str) -> None:
        # The rest of the body may still be on its way; do not read it, drop the connection.
        super().__init__(detail, headers={"Connection": "close"})


class TooManyRequests(ProblemError):
    status, title, code = 429, "Too Many Requests", "rate_limited"

    def __init__(self, detail: str, retry_after: int, *, code: str | None = None) -> None:
        super().__init__(
            detail,
            headers={"Retry-After": str(max(1, retry_after))},
            extra={"retry_after": max(1, retry_after)},
        )
        if code is not None:
            self.code = code


class ServiceUnavailable(ProblemError):
    status, title, code = 503, "Service Unavailable", "unavailable"

    def __init__(self, detail: str, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class InternalError(ProblemError):
    """Anything else: a bug, or stored data this version cannot read. Logged by the middleware."""

    status, title, code = 500, "Internal Server Error", "internal_error"


@dataclass(slots=True)
class FieldErrors:
    """Collects every field problem of one request so the reply lists them all."""

    items: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, code: str, message: str) -> None:
        self.items.append(FieldError(field_name, code, message))

    def raise_if_any(self) -> None:
        if self.items:
            names = ", ".join(e.field for e in self.items)
            raise ValidationFailed(f"invalid fields: {names}", errors=self.items)
