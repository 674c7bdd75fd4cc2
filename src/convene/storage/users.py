"""User accounts: email (normalised, unique), display name and password hash.

Password hashing itself lives in :mod:`convene.auth.passwords`; this module only stores the hash.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import UserId
from convene.protocol.names import normalize_name
from convene.storage._common import invalid, parse_uuid, rowcount, utcnow
from convene.storage.models import EmailVerificationRow, PasswordResetRow, UserRow

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = [
    "DISPLAY_NAME_MAX",
    "EMAIL_MAX",
    "UserRecord",
    "UserStore",
    "normalize_email",
    "validate_display_name",
]

EMAIL_MAX = 254
DISPLAY_NAME_MAX = 64
# Deliberately loose: one "@", something on each side, a dot in the domain, no spaces. The only
# real test of an address is mail reaching it. Control characters (NUL above all, which
# PostgreSQL cannot store in text) are never part of an address.
_EMAIL_RE = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]+$")


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user account as the rest of Convene sees it (never carries the password hash)."""

    id: UserId
    email: str
    display_name: str
    created_at: datetime
    email_verified: bool = False

    @property
    def claimed_email(self) -> str | None:
        """The address this account may be found by (invitations to it are theirs): only a
        verified one, so that signing up with someone else's address claims nothing."""
        return self.email if self.email_verified else None


def normalize_email(email: str) -> str:
    """Trim and lower-case an address; raise ``invalid_request`` when it cannot be one."""
    value = email.strip().lower()
    if len(value) > EMAIL_MAX or not _EMAIL_RE.fullmatch(value):
        raise invalid("not a valid email address", field="email")
    return value


def validate_display_name(name: str) -> str:
    """The one name policy (:func:`convene.protocol.names.normalize_name`)."""
    return normalize_name(name, field="display_name")


def user_record(row: UserRow) -> UserRecord:
    """The record for a row (for the other repositories of this package)."""
    return UserRecord(
        id=UserId(str(row.id)),
        email=row.email,
        display_name=row.display_name,
        created_at=row.created_at,
        email_verified=row.email_verified_at is not None,
    )


class UserStore:
    """Create, find and update user accounts."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self, *, email: str, display_name: str, password_hash: str, verified: bool = False
    ) -> UserRecord:
        """Add an account (``verified``: its address is known to be the owner's). Raises
        ``email_taken`` when the (normalised) email is in use."""
        now = utcnow()
        row = UserRow(
            id=uuid.uuid4(),
            email=normalize_email(email),
            display_name=validate_display_name(display_name),
            password_hash=password_hash,
            created_at=now,
            email_verified_at=now if verified else None,
        )
        try:
            async with self._db.session() as session:
                session.add(row)
        except IntegrityError as exc:
            raise ConveneError(
                ErrorCode.EMAIL_TAKEN, "An account with this email already exists."
            ) from exc
        return user_record(row)

    async def get(self, user_id: UserId) -> UserRecord | None:
        """The account with this id, or None."""
        key = parse_uuid(user_id)
        if key is None:
            return None
        async with self._db.session() as session:
            row = await session.get(UserRow, key)
            return user_record(row) if row else None

    async def get_by_email(self, email: str) -> UserRecord | None:
        """The account with this email (compared after normalising), or None."""
        found = await self.get_credentials(email)
        return found[0] if found else None

    async def get_credentials(self, email: str) -> tuple[UserRecord, str] | None:
        """The account with this email and its password hash, for signing in; or None."""
        try:
            normalized = normalize_email(email)
        except ConveneError:
            return None
        async with self._db.session() as session:
            row = await session.scalar(select(UserRow).where(UserRow.email == normalized))
            return (user_record(row), row.password_hash) if row else None

    async def update(self, user_id: UserId, *, display_name: str) -> UserRecord | None:
        """Change the display name; the updated account, or None when it does not exist."""
        name = validate_display_name(display_name)
        key = parse_uuid(user_id)
        if key is None:
            return None
        async with self._db.session() as session:
            row = await session.get(UserRow, key)
            if row is None:
                return None
            row.display_name = name
            return user_record(row)

    async def set_password_hash(self, user_id: UserId, password_hash: str) -> bool:
        """Replace the stored hash (new password, or a rehash with new parameters)."""
        key = parse_uuid(user_id)
        if key is None:
            return False
        async with self._db.session() as session:
            row = await session.get(UserRow, key)
            if row is None:
                return False
            row.password_hash = password_hash
            return True

    async def add_verification(
        self, user_id: UserId, token_hash: bytes, *, email: str, now: datetime, expires: datetime
    ) -> None:
        """Record a confirmation link sent to ``email`` (only the token's hash is kept)."""
        key = parse_uuid(user_id)
        if key is None:
            return
        async with self._db.session() as session:
            session.add(
                EmailVerificationRow(
                    id=uuid.uuid4(),
                    token_hash=token_hash,
                    user_id=key,
                    email=email,
                    created_at=now,
                    expires_at=expires,
                )
            )

    async def verifications_since(self, user_id: UserId, since: datetime) -> int:
        """How many confirmation links were sent to this account since ``since``."""
        return await self._links_since(EmailVerificationRow, user_id, since)

    async def _links_since(
        self, table: type[EmailVerificationRow | PasswordResetRow], user_id: UserId, since: datetime
    ) -> int:
        key = parse_uuid(user_id)
        if key is None:
            return 0
        async with self._db.session() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(table)
                .where(table.user_id == key, table.created_at >= since)
            )
            return int(count or 0)

    async def use_verification(self, token_hash: bytes, *, now: datetime) -> UserRecord | None:
        """Spend a confirmation link: the account it verified, or None when the link is
        unknown, used, expired, or for an address the account no longer has. Single use even
        when two requests race (the row is marked used by a conditional UPDATE)."""
        async with self._db.session() as session:
            row = await session.scalar(
                select(EmailVerificationRow).where(EmailVerificationRow.token_hash == token_hash)
            )
            if row is None or row.used_at is not None or row.expires_at <= now:
                return None
            spent = await session.execute(
                update(EmailVerificationRow)
                .where(EmailVerificationRow.id == row.id, EmailVerificationRow.used_at.is_(None))
                .values(used_at=now)
            )
            if getattr(spent, "rowcount", 0) != 1:
                return None
            user = await session.get(UserRow, row.user_id)
            if user is None or user.email != row.email:
                return None
            if user.email_verified_at is None:
                user.email_verified_at = now
            return user_record(user)

    async def add_password_reset(
        self, user_id: UserId, token_hash: bytes, *, now: datetime, expires: datetime
    ) -> None:
        """Record a password-reset link sent to the account (only the token's hash is kept)."""
        key = parse_uuid(user_id)
        if key is None:
            return
        async with self._db.session() as session:
            session.add(
                PasswordResetRow(
                    id=uuid.uuid4(),
                    token_hash=token_hash,
                    user_id=key,
                    created_at=now,
                    expires_at=expires,
                )
            )

    async def password_resets_since(self, user_id: UserId, since: datetime) -> int:
        """How many password-reset links were sent to this account since ``since``."""
        return await self._links_since(PasswordResetRow, user_id, since)

    async def password_reset_user(self, token_hash: bytes, *, now: datetime) -> UserRecord | None:
        """The account an unused, unexpired reset link is for (nothing is spent), or None."""
        async with self._db.session() as session:
            row = await session.scalar(
                select(PasswordResetRow).where(PasswordResetRow.token_hash == token_hash)
            )
            if row is None or row.used_at is not None or row.expires_at <= now:
                return None
            user = await session.get(UserRow, row.user_id)
            return user_record(user) if user else None

    async def reset_password(
        self, token_hash: bytes, password_hash: str, *, now: datetime
    ) -> UserRecord | None:
        """Spend a reset link and set the account's new password hash in one transaction:
        the account, or None when the link is unknown, used or expired. Every other
        outstanding link of the account is spent with it. Single use even when two requests
        race (the row is marked used by a conditional UPDATE)."""
        async with self._db.session() as session:
            row = await session.scalar(
                select(PasswordResetRow).where(PasswordResetRow.token_hash == token_hash)
            )
            if row is None or row.used_at is not None or row.expires_at <= now:
                return None
            spent = await session.execute(
                update(PasswordResetRow)
                .where(PasswordResetRow.id == row.id, PasswordResetRow.used_at.is_(None))
                .values(used_at=now)
            )
            if getattr(spent, "rowcount", 0) != 1:
                return None
            user = await session.get(UserRow, row.user_id)
            if user is None:
                return None
            await session.execute(
                update(PasswordResetRow)
                .where(PasswordResetRow.user_id == row.user_id, PasswordResetRow.used_at.is_(None))
                .values(used_at=now)
            )
            user.password_hash = password_hash
            return user_record(user)

    async def cancel_password_resets(self, user_id: UserId, *, now: datetime) -> int:
        """Spend every outstanding reset link of an account (its password was changed);
        how many there were."""
        key = parse_uuid(user_id)
        if key is None:
            return 0
        async with self._db.session() as session:
            result = await session.execute(
                update(PasswordResetRow)
                .where(PasswordResetRow.user_id == key, PasswordResetRow.used_at.is_(None))
                .values(used_at=now)
            )
            return rowcount(result)

    async def delete(self, user_id: UserId) -> bool:
        """Delete the account with its sessions and the meetings it hosts."""
        key = parse_uuid(user_id)
        if key is None:
            return False
        async with self._db.session() as session:
            row = await session.get(UserRow, key)
            if row is None:
                return False
            await session.delete(row)
            return True
