"""One error hierarchy; shared.http renders every member as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Base of every error a client may see; carries its HTTP status and problem fields."""

    status: int = 500
    title: str = "Internal Server Error"
    type_slug: str = "internal"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}


class BadRequest(ApiError):
    status, title, type_slug = 400, "Bad Request", "bad-request"


class Unauthorized(ApiError):
    status, title, type_slug = 401, "Unauthorized", "unauthorized"


class Forbidden(ApiError):
    status, title, type_slug = 403, "Forbidden", "forbidden"


class NotFound(ApiError):
    status, title, type_slug = 404, "Not Found", "not-found"


class MethodNotAllowed(ApiError):
    status, title, type_slug = 405, "Method Not Allowed", "method-not-allowed"


class Conflict(ApiError):
    status, title, type_slug = 409, "Conflict", "conflict"


class PayloadTooLarge(ApiError):
    status, title, type_slug = 413, "Content Too Large", "payload-too-large"


class UnsupportedMediaType(ApiError):
    status, title, type_slug = 415, "Unsupported Media Type", "unsupported-media-type"


class TooManyRequests(ApiError):
    """A bounded resource is busy; the client should retry after Retry-After seconds."""

    status, title, type_slug = 429, "Too Many Requests", "too-many-requests"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ValidationFailed(ApiError):
    status, title, type_slug = 422, "Unprocessable Content", "validation"


class ServiceUnavailable(ApiError):
    """A dependency (database, model, storage) is down; the client should retry later."""

    status, title, type_slug = 503, "Service Unavailable", "unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class DatabaseUnavailable(ServiceUnavailable):
    title = "Database Unavailable"


class ModelUnavailable(ServiceUnavailable):
    title = "Model Unavailable"


class IdentityUnavailable(ServiceUnavailable):
    """Identity Platform (certificates, account lookups, sign-in) cannot be reached."""

    title = "Identity Service Unavailable"
