"""Encrypting the passwords of connected calendars at rest.

A CalDAV password (or app token) is stored encrypted with the install's ``credentials_key``
(``secrets.json``), a Fernet key: AES-128-CBC with an HMAC-SHA256 over the whole token, so a
tampered or foreign ciphertext is refused rather than decrypted into garbage. A leaked database
alone does not reveal any password; the key and the database together do.

Plaintext passwords never leave this module's callers' stack frames: not logged, not returned by
the API, not put into error messages.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["CredentialError", "Credentials"]


class CredentialError(Exception):
    """A stored secret could not be decrypted (the credentials key changed, or it was altered)."""


class Credentials:
    """Encrypts and decrypts connection secrets with one Fernet key."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            # Never echo the key itself.
            raise ValueError(
                "credentials_key is not a Fernet key (32 bytes, base64url-encoded)"
            ) from exc

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except (InvalidToken, UnicodeDecodeError) as exc:
            raise CredentialError(
                "the stored password could not be decrypted; enter it again"
            ) from exc

    def __repr__(self) -> str:
        return "Credentials(<key hidden>)"
