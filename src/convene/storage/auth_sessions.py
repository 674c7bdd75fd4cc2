"""Sign-in sessions: the hash of the cookie token, the CSRF token and the expiry.

Tokens are made and hashed in :mod:`convene.auth.sessions`; this module never sees a raw token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from convene.protocol.ids import UserId
from convene.storage._common import invalid, parse_uuid, rowcount, utcnow
from convene.storage.models import AuthSessionRow, UserRow
from convene.storage.users import UserRecord, user_record

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = ["AuthSessionStore", "SessionRecord"]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A live sign-in session and the user it belongs to."""

    id: str
    user: UserRecord
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class AuthSessionStore:
    """Create, resolve and end sign-in sessions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, *, user_id: UserId, token_hash: bytes, csrf_token: str, expires_at: datetime
    ) -> SessionRecord:
        """Store a new session for an existing user."""
        key = parse_uuid(user_id)
        if key is None or len(token_hash) != 32:
            raise invalid("bad session parameters")
        row = AuthSessionRow(
            id=uuid.uuid4(),
            token_hash=token_hash,
            csrf_token=csrf_token,
            user_id=key,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        async with self._db.session() as session:
            user = await session.get(UserRow, key)
            if user is None:
                raise invalid("no such user")
            session.add(row)
            return _record(row, user)

    async def get(self, token_hash: bytes) -> SessionRecord | None:
        """The unexpired session whose token hashes to ``token_hash``, or None."""
        async with self._db.session() as session:
            found = (
                await session.execute(
                    select(AuthSessionRow, UserRow)
                    .join(UserRow, UserRow.id == AuthSessionRow.user_id)
                    .where(
                        AuthSessionRow.token_hash == token_hash,
                        AuthSessionRow.expires_at > utcnow(),
                    )
                )
            ).first()
            if found is None:
                return None
            return _record(found[0], found[1])

    async def delete(self, token_hash: bytes) -> bool:
        """End one session (sign out)."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(AuthSessionRow).where(AuthSessionRow.token_hash == token_hash)
            )
            return rowcount(result) > 0

    async def delete_for_user(self, user_id: UserId) -> int:
        """End every session of a user (after a password change, say); how many ended."""
        key = parse_uuid(user_id)
        if key is None:
            return 0
        async with self._db.session() as session:
            result = await session.execute(
                delete(AuthSessionRow).where(AuthSessionRow.user_id == key)
            )
            return rowcount(result)

    async def delete_expired(self) -> int:
        """Remove sessions past their expiry; how many were removed."""
        async with self._db.session() as session:
            result = await session.execute(
                delete(AuthSessionRow).where(AuthSessionRow.expires_at <= utcnow())
            )
            return rowcount(result)


def _record(row: AuthSessionRow, user: UserRow) -> SessionRecord:
    return SessionRecord(
        id=str(row.id),
        user=user_record(user),
        csrf_token=row.csrf_token,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )
