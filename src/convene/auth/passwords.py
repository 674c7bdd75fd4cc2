"""Password hashing with argon2id.

Hashes carry their own parameters, so raising the cost later only needs new
:class:`Argon2Params`: each user's hash is replaced at their next successful sign-in
(:meth:`Passwords.check` returns the new hash).

Hashing is deliberately slow and memory-hungry, so the async methods run it in a worker thread,
at most a few at a time: the event loop (and the meetings it serves) never waits on it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from convene.protocol.errors import ConveneError, ErrorCode

__all__ = [
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "Argon2Params",
    "PasswordCheck",
    "Passwords",
    "validate_password",
]

PASSWORD_MIN = 8
PASSWORD_MAX = 256


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """argon2id cost parameters. The defaults are RFC 9106's second recommended option
    (64 MiB, 3 passes); tests use tiny values so that they stay fast."""

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of checking a password: whether it matched, and a replacement hash when the
    stored one was made with other parameters (store it)."""

    ok: bool
    new_hash: str | None = None


def validate_password(password: str) -> str:
    """Check the length rule (8..256 characters); the password itself is never altered."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ConveneError(
            ErrorCode.INVALID_REQUEST,
            f"password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters",
            {"field": "password"},
        )
    return password


class Passwords:
    """Hash and verify passwords with one set of argon2id parameters."""

    def __init__(self, params: Argon2Params | None = None, *, max_concurrent: int = 2) -> None:
        self.params = params or Argon2Params()
        self._hasher = PasswordHasher(
            time_cost=self.params.time_cost,
            memory_cost=self.params.memory_kib,
            parallelism=self.params.parallelism,
            type=Type.ID,
        )
        self._max_concurrent = max_concurrent
        self._slots: asyncio.Semaphore | None = None
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        """An argon2id hash of a valid password (blocking; see :meth:`hash_async`)."""
        return self._hasher.hash(validate_password(password))

    def verify(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``stored_hash`` (False for a malformed hash)."""
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether ``stored_hash`` was made with other parameters than these."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def _check(self, stored_hash: str | None, password: str) -> PasswordCheck:
        if stored_hash is None:
            # Spend the same time when the account does not exist, so response times do not
            # tell which emails have accounts.
            if self._dummy is None:
                self._dummy = self._hasher.hash("not a real password")
            self.verify(self._dummy, password)
            return PasswordCheck(ok=False)
        if not self.verify(stored_hash, password):
            return PasswordCheck(ok=False)
        if self.needs_rehash(stored_hash):
            return PasswordCheck(ok=True, new_hash=self._hasher.hash(password))
        return PasswordCheck(ok=True)

    async def hash_async(self, password: str) -> str:
        """:meth:`hash` in a worker thread."""
        validate_password(password)
        async with self._slot():
            return await asyncio.to_thread(self.hash, password)

    async def check(self, stored_hash: str | None, password: str) -> PasswordCheck:
        """Verify a sign-in attempt in a worker thread. ``stored_hash`` None means no such
        account: the check fails after the usual amount of work."""
        if len(password) > PASSWORD_MAX:
            return PasswordCheck(ok=False)
        async with self._slot():
            return await asyncio.to_thread(self._check, stored_hash, password)

    def _slot(self) -> asyncio.Semaphore:
        # Bounds memory: each hash takes memory_kib, and a burst of sign-ins must not take the
        # whole machine. Made on first use so that it belongs to the serving event loop.
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._max_concurrent)
        return self._slots
