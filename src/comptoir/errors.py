"""The one exception tree of Comptoir. The API maps it to HTTP in a single handler; the CLI to messages.

ComptoirError
├── BadRequest                 400/413/415/422: the caller sent something we cannot take
│   ├── InvalidInput           422
│   ├── PayloadTooLarge        413
│   └── UnsupportedMediaType   415
├── Unauthorized               401: missing or wrong key
├── Forbidden                  403: a valid key that may not do this
├── NotFound                   404: also what a key gets for another company's data
├── Conflict                   409
├── TooManyRequests            429: a rate, quota or budget is spent; says which and when to retry
└── ServiceError               5xx: our side
    ├── DatabaseError          503
    └── ConfigurationError     500: a setting makes start-up impossible
"""

from __future__ import annotations


class ComptoirError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ComptoirError):
    status_code = 400
    code = "bad_request"


class InvalidInput(BadRequest):
    status_code = 422
    code = "invalid_input"


class PayloadTooLarge(BadRequest):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(BadRequest):
    status_code = 415
    code = "unsupported_media_type"


class Unauthorized(ComptoirError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ComptoirError):
    status_code = 403
    code = "forbidden"


class NotFound(ComptoirError):
    status_code = 404
    code = "not_found"


class Conflict(ComptoirError):
    status_code = 409
    code = "conflict"


class TooManyRequests(ComptoirError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, limit: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.limit = limit
        self.retry_after_s = retry_after_s


class ServiceError(ComptoirError):
    status_code = 503
    code = "service_unavailable"


class DatabaseError(ServiceError):
    code = "database_unavailable"


class ConfigurationError(ServiceError):
    status_code = 500
    code = "configuration_error"
