"""Stable error codes shared by the REST API and the signaling WebSocket.

Every error that crosses the wire is ``{"code": <ErrorCode>, "message": str, "details": {...}}``.
Codes are snake_case and never change meaning; messages are for people and may change.

Exception tree::

    ConveneError            -- carries an ErrorCode, a message and details; safe to show a client
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = ["HTTP_STATUS", "ConveneError", "ErrorCode"]


class ErrorCode(StrEnum):
    # Malformed input.
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_REQUEST = "invalid_request"
    # Authentication and authorisation.
    AUTH_REQUIRED = "auth_required"
    INVALID_CREDENTIALS = "invalid_credentials"
    CSRF_FAILED = "csrf_failed"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    EMAIL_TAKEN = "email_taken"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    VERIFICATION_INVALID = "verification_invalid"
    RESET_INVALID = "reset_invalid"
    QUOTA_EXCEEDED = "quota_exceeded"
    # Meetings and admission.
    NOT_FOUND = "not_found"
    MEETING_NOT_FOUND = "meeting_not_found"
    MEETING_ENDED = "meeting_ended"
    MEETING_LOCKED = "meeting_locked"
    MEETING_FULL = "meeting_full"
    PASSCODE_REQUIRED = "passcode_required"
    PASSCODE_INVALID = "passcode_invalid"
    GUESTS_NOT_ALLOWED = "guests_not_allowed"
    REMOVED = "removed"
    DENIED = "denied"
    NOT_JOINED = "not_joined"
    ALREADY_JOINED = "already_joined"
    RESUME_INVALID = "resume_invalid"
    PARTICIPANT_NOT_FOUND = "participant_not_found"
    NAME_TAKEN = "name_taken"
    # In-meeting actions.
    FEED_NOT_FOUND = "feed_not_found"
    MUTED_BY_HOST = "muted_by_host"
    CHAT_DISABLED = "chat_disabled"
    SCREEN_SHARE_DISABLED = "screen_share_disabled"
    INVALID_STATE = "invalid_state"
    # Captions: the operator turned them off, or no speech model is installed.
    CAPTIONS_UNAVAILABLE = "captions_unavailable"
    # Captions: this meeting's settings forbid them.
    CAPTIONS_FORBIDDEN = "captions_forbidden"
    # Interpretation: the participant is not an interpreter (of that booth or channel).
    NOT_INTERPRETER = "not_interpreter"
    # Interpretation: no machine voice for that language (or captions are unavailable).
    INTERPRETATION_UNAVAILABLE = "interpretation_unavailable"
    # Livestream: no worker that can stream is connected (or ffmpeg is missing).
    LIVESTREAM_UNAVAILABLE = "livestream_unavailable"
    # Events: every WebRTC viewer seat is taken; an attendee watches the livestream instead.
    AUDIENCE_FULL = "audience_full"
    # Bullet comments: a host turned them off (or the meeting has them off).
    COMMENTS_DISABLED = "comments_disabled"
    # Bullet comments: the text matches the meeting's word filter.
    COMMENT_FILTERED = "comment_filtered"
    # Events: the audience must register, and the join carried no approved registration.
    REGISTRATION_REQUIRED = "registration_required"
    # Media server and internals.
    MEDIA_ERROR = "media_error"
    MEDIA_UNAVAILABLE = "media_unavailable"
    INTERNAL_ERROR = "internal_error"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_MESSAGE: 400,
    ErrorCode.UNKNOWN_TYPE: 400,
    ErrorCode.INVALID_REQUEST: 422,
    ErrorCode.AUTH_REQUIRED: 401,
    ErrorCode.INVALID_CREDENTIALS: 401,
    ErrorCode.CSRF_FAILED: 403,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.EMAIL_TAKEN: 409,
    ErrorCode.EMAIL_NOT_VERIFIED: 403,
    ErrorCode.VERIFICATION_INVALID: 400,
    ErrorCode.RESET_INVALID: 400,
    ErrorCode.QUOTA_EXCEEDED: 429,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.MEETING_NOT_FOUND: 404,
    ErrorCode.MEETING_ENDED: 410,
    ErrorCode.MEETING_LOCKED: 403,
    ErrorCode.MEETING_FULL: 403,
    ErrorCode.PASSCODE_REQUIRED: 401,
    ErrorCode.PASSCODE_INVALID: 403,
    ErrorCode.GUESTS_NOT_ALLOWED: 401,
    ErrorCode.REMOVED: 403,
    ErrorCode.DENIED: 403,
    ErrorCode.NOT_JOINED: 409,
    ErrorCode.ALREADY_JOINED: 409,
    ErrorCode.RESUME_INVALID: 403,
    ErrorCode.PARTICIPANT_NOT_FOUND: 404,
    ErrorCode.NAME_TAKEN: 409,
    ErrorCode.FEED_NOT_FOUND: 404,
    ErrorCode.MUTED_BY_HOST: 403,
    ErrorCode.CHAT_DISABLED: 403,
    ErrorCode.SCREEN_SHARE_DISABLED: 403,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.CAPTIONS_UNAVAILABLE: 503,
    ErrorCode.CAPTIONS_FORBIDDEN: 403,
    ErrorCode.NOT_INTERPRETER: 403,
    ErrorCode.INTERPRETATION_UNAVAILABLE: 503,
    ErrorCode.LIVESTREAM_UNAVAILABLE: 503,
    ErrorCode.AUDIENCE_FULL: 503,
    ErrorCode.COMMENTS_DISABLED: 403,
    ErrorCode.COMMENT_FILTERED: 422,
    ErrorCode.REGISTRATION_REQUIRED: 403,
    ErrorCode.MEDIA_ERROR: 502,
    ErrorCode.MEDIA_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
}


class ConveneError(Exception):
    """An error whose code and message are safe to send to the client that caused it."""

    def __init__(
        self, code: ErrorCode, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        # Set by the codec when the failing message carried an id, so the error reply can echo it.
        self.request_id: str | None = None

    @property
    def http_status(self) -> int:
        return HTTP_STATUS.get(self.code, 400)

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "details": self.details}
