"""Meetings: the numeric code, the link token, the passcode, the settings and the status.

A meeting is found by a *ref*: either its numeric code (spaces and dashes allowed, as people type
``123 456 789``), its link token or its panelist link token. Whoever comes with either link token
needs no passcode; whoever comes with the panelist link is a panelist of an event.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, TypedDict, cast, get_args

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError

from convene.protocol.captions import CaptionsPolicy
from convene.protocol.ids import MeetingId, UserId
from convene.protocol.messages import ChatPolicy, MeetingMode, SharePolicy
from convene.storage._common import invalid, parse_uuid, rowcount, utcnow
from convene.storage.models import MeetingRow, UserRow
from convene.storage.registrations import RegistrationPolicy, validate_policy

if TYPE_CHECKING:
    from convene.storage.db import Database

__all__ = [
    "LINK_TOKEN_BYTES",
    "MeetingChanges",
    "MeetingRecord",
    "MeetingStatus",
    "MeetingStore",
    "format_code",
    "new_passcode",
    "parse_ref",
    "validate_captions",
    "validate_mode",
    "validate_passcode",
    "validate_title",
]

MeetingStatus = Literal["open", "live", "ended"]

# 18 random bytes: 144 bits, 24 URL-safe characters.
LINK_TOKEN_BYTES = 18
TITLE_MAX = 200
_CODE_ATTEMPTS = 20
_CODE_RE = re.compile(r"[0-9]{6,12}")
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# Printable ASCII without spaces: typeable on any keyboard, never ambiguous once trimmed.
_PASSCODE_RE = re.compile(r"[\x21-\x7e]{4,32}")


@dataclass(frozen=True, slots=True)
class MeetingRecord:
    """A meeting as stored (a snapshot: the row may change after it was read)."""

    id: MeetingId
    code: str
    link_token: str
    title: str
    host_id: UserId
    host_name: str
    # None: the meeting has no passcode.
    passcode: str | None
    waiting_room: bool
    allow_guests: bool
    mute_on_entry: bool
    allow_self_unmute: bool
    locked: bool
    chat: ChatPolicy
    screen_share: SharePolicy
    max_participants: int
    status: MeetingStatus
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    # May a guest become host when only guests remain? Off: the meeting waits for a signed-in
    # host or co-host.
    guest_succession: bool = False
    # May a host turn captions on (allowed), are they on from the start (auto), or never?
    captions: CaptionsPolicy = "allowed"
    # meeting, event (a panel and a view-only audience) or lecture.
    mode: MeetingMode = "meeting"
    # The panelist link's token (None only for a meeting stored before there were any).
    panelist_token: str | None = None
    # Must an event's audience register first (convene.storage.registrations)?
    registration: RegistrationPolicy = "off"

    @property
    def is_event(self) -> bool:
        """An event or a lecture: a panel and a view-only audience."""
        return self.mode != "meeting"

    def is_panelist_link(self, ref: str) -> bool:
        """Whether ``ref`` is this meeting's panelist link token (constant time)."""
        if self.panelist_token is None:
            return False
        return hmac.compare_digest(ref.strip().encode(), self.panelist_token.encode())

    @property
    def requires_passcode(self) -> bool:
        return self.passcode is not None

    @property
    def display_code(self) -> str:
        """The code grouped in threes for people: ``123 456 789``."""
        return format_code(self.code)

    def passcode_satisfied(self, *, ref: str, passcode: str | None) -> bool:
        """Whether someone who asked for ``ref`` with ``passcode`` may pass the passcode check.

        True when the meeting has no passcode, when ``ref`` is the link token, or when the
        passcode matches. Both comparisons take constant time.
        """
        if self.passcode is None:
            return True
        if hmac.compare_digest(ref.strip().encode(), self.link_token.encode()):
            return True
        if self.is_panelist_link(ref):
            return True
        if passcode is None:
            return False
        return hmac.compare_digest(passcode.strip().encode(), self.passcode.encode())


class MeetingChanges(TypedDict, total=False):
    """Settings a host may change; keys left out stay as they are.

    ``passcode``: a new passcode, or ``None``/``""`` to remove it.
    """

    title: str
    passcode: str | None
    waiting_room: bool
    allow_guests: bool
    mute_on_entry: bool
    allow_self_unmute: bool
    locked: bool
    chat: ChatPolicy
    screen_share: SharePolicy
    max_participants: int
    guest_succession: bool
    captions: CaptionsPolicy
    registration: RegistrationPolicy
    mode: MeetingMode


_BOOL_SETTINGS = (
    "waiting_room",
    "allow_guests",
    "mute_on_entry",
    "allow_self_unmute",
    "locked",
    "guest_succession",
)


def format_code(code: str) -> str:
    """Group a numeric code in threes from the left: ``123456789`` -> ``123 456 789``."""
    return " ".join(code[i : i + 3] for i in range(0, len(code), 3))


def parse_ref(ref: str) -> tuple[Literal["code", "token"], str] | None:
    """Tell a meeting code from a link token; None when ``ref`` can be neither."""
    value = ref.strip()
    digits = value.replace(" ", "").replace("-", "")
    if _CODE_RE.fullmatch(digits):
        return "code", digits
    if _TOKEN_RE.fullmatch(value):
        return "token", value
    return None


def new_passcode() -> str:
    """Six random digits."""
    return f"{secrets.randbelow(10**6):06d}"


def validate_passcode(passcode: str | None) -> str | None:
    """A passcode to store: None for none (given as None or ""), else 4..32 visible ASCII."""
    if passcode is None:
        return None
    value = passcode.strip()
    if value == "":
        return None
    if not _PASSCODE_RE.fullmatch(value):
        raise invalid(
            "passcode must be 4 to 32 letters, digits or symbols without spaces", field="passcode"
        )
    return value


def validate_title(title: str) -> str:
    """Trim a title and check it is 1..200 printable characters."""
    value = title.strip()
    if not 1 <= len(value) <= TITLE_MAX or not value.isprintable():
        raise invalid(f"title must be 1 to {TITLE_MAX} printable characters", field="title")
    return value


def validate_captions(policy: str) -> CaptionsPolicy:
    """A captions setting to store: forbidden, allowed or auto."""
    if policy not in get_args(CaptionsPolicy):
        raise invalid("captions must be forbidden, allowed or auto", field="captions")
    return cast(CaptionsPolicy, policy)


def validate_mode(mode: str) -> MeetingMode:
    """A meeting mode to store: meeting, event or lecture."""
    if mode not in get_args(MeetingMode):
        raise invalid("mode must be meeting, event or lecture", field="mode")
    return cast(MeetingMode, mode)


def _new_code(digits: int) -> str:
    # No leading zero: a code that starts with 0 is easy to mistype as a shorter one.
    low = 10 ** (digits - 1)
    return str(low + secrets.randbelow(9 * low))


def _record(row: MeetingRow, host_name: str) -> MeetingRecord:
    return MeetingRecord(
        id=MeetingId(str(row.id)),
        code=row.code,
        link_token=row.link_token,
        title=row.title,
        host_id=UserId(str(row.host_id)),
        host_name=host_name,
        passcode=row.passcode,
        waiting_room=row.waiting_room,
        allow_guests=row.allow_guests,
        mute_on_entry=row.mute_on_entry,
        allow_self_unmute=row.allow_self_unmute,
        locked=row.locked,
        chat=cast(ChatPolicy, row.chat),
        screen_share=cast(SharePolicy, row.screen_share),
        max_participants=row.max_participants,
        status=cast(MeetingStatus, row.status),
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        guest_succession=row.guest_succession,
        captions=cast(CaptionsPolicy, row.captions),
        registration=cast(RegistrationPolicy, row.registration),
        mode=cast(MeetingMode, row.mode),
        panelist_token=row.panelist_token,
    )


def _with_host() -> Select[MeetingRow, str]:
    return select(MeetingRow, UserRow.display_name).join(UserRow, UserRow.id == MeetingRow.host_id)


def _apply(row: MeetingRow, changes: MeetingChanges) -> None:
    """Validate every change before touching the row, so a bad one changes nothing."""
    unknown = set(changes) - set(MeetingChanges.__annotations__)
    if unknown:
        raise invalid("unknown meeting settings", fields=sorted(unknown))
    values: dict[str, object] = {}
    if "title" in changes:
        values["title"] = validate_title(changes["title"])
    if "passcode" in changes:
        values["passcode"] = validate_passcode(changes["passcode"])
    for name in _BOOL_SETTINGS:
        if name in changes:
            value = changes[name]  # type: ignore[literal-required]
            if not isinstance(value, bool):
                raise invalid(f"{name} must be true or false", field=name)
            values[name] = value
    if "chat" in changes:
        if changes["chat"] not in get_args(ChatPolicy):
            raise invalid("chat must be everyone, hosts or none", field="chat")
        values["chat"] = changes["chat"]
    if "screen_share" in changes:
        if changes["screen_share"] not in get_args(SharePolicy):
            raise invalid("screen_share must be everyone or hosts", field="screen_share")
        values["screen_share"] = changes["screen_share"]
    if "captions" in changes:
        values["captions"] = validate_captions(changes["captions"])
    if "registration" in changes:
        values["registration"] = validate_policy(changes["registration"])
    if "mode" in changes:
        values["mode"] = validate_mode(changes["mode"])
    if "max_participants" in changes:
        limit = changes["max_participants"]
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 2:
            raise invalid("max_participants must be at least 2", field="max_participants")
        values["max_participants"] = limit
    for name, value in values.items():
        setattr(row, name, value)


class MeetingStore:
    """Create, find, change and delete meetings."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        host_id: UserId,
        title: str,
        passcode: str | None,
        code_digits: int = 9,
        max_participants: int = 300,
        waiting_room: bool = True,
        allow_guests: bool = True,
        mute_on_entry: bool = False,
        allow_self_unmute: bool = True,
        guest_succession: bool = False,
        captions: CaptionsPolicy = "allowed",
        registration: RegistrationPolicy = "off",
        mode: MeetingMode = "meeting",
    ) -> MeetingRecord:
        """Create an open meeting with a fresh unique code and link token.

        ``passcode`` is stored as given (validated); pass :func:`new_passcode` for a random one
        and None for none. A code that collides with an existing one is drawn again.
        """
        host_key = parse_uuid(host_id)
        if host_key is None:
            raise invalid("no such user")
        if not 6 <= code_digits <= 12:
            raise invalid("code_digits must be 6 to 12")
        if max_participants < 2:
            raise invalid("max_participants must be at least 2", field="max_participants")
        clean_title = validate_title(title)
        clean_passcode = validate_passcode(passcode)
        clean_captions = validate_captions(captions)
        clean_registration = validate_policy(registration)
        clean_mode = validate_mode(mode)
        for attempt in range(_CODE_ATTEMPTS):
            row = MeetingRow(
                id=uuid.uuid4(),
                code=_new_code(code_digits),
                link_token=secrets.token_urlsafe(LINK_TOKEN_BYTES),
                panelist_token=secrets.token_urlsafe(LINK_TOKEN_BYTES),
                title=clean_title,
                host_id=host_key,
                passcode=clean_passcode,
                waiting_room=waiting_room,
                allow_guests=allow_guests,
                mute_on_entry=mute_on_entry,
                allow_self_unmute=allow_self_unmute,
                locked=False,
                chat="everyone",
                screen_share="everyone",
                max_participants=max_participants,
                guest_succession=guest_succession,
                captions=clean_captions,
                registration=clean_registration,
                mode=clean_mode,
                status="open",
                created_at=utcnow(),
                started_at=None,
                ended_at=None,
            )
            try:
                async with self._db.session() as session:
                    host = await session.get(UserRow, host_key)
                    if host is None:
                        raise invalid("no such user")
                    host_name = host.display_name
                    session.add(row)
            except IntegrityError:
                # The host exists (checked above), so the unique code was taken: draw again.
                if attempt + 1 == _CODE_ATTEMPTS:
                    raise
                continue
            return _record(row, host_name)
        raise AssertionError("unreachable")

    async def get(self, meeting_id: MeetingId) -> MeetingRecord | None:
        """The meeting with this id, or None."""
        key = parse_uuid(meeting_id)
        if key is None:
            return None
        return await self._one(_with_host().where(MeetingRow.id == key))

    async def get_by_code(self, code: str) -> MeetingRecord | None:
        """The meeting with this numeric code (spaces and dashes ignored), or None."""
        parsed = parse_ref(code)
        if parsed is None or parsed[0] != "code":
            return None
        return await self._one(_with_host().where(MeetingRow.code == parsed[1]))

    async def get_by_link_token(self, token: str) -> MeetingRecord | None:
        """The meeting with this link token, or None."""
        parsed = parse_ref(token)
        if parsed is None or parsed[0] != "token":
            return None
        return await self._one(_with_host().where(MeetingRow.link_token == parsed[1]))

    async def get_by_ref(self, ref: str) -> MeetingRecord | None:
        """The meeting a ref names: its code (with or without spaces), its link token or its
        panelist link token (:meth:`MeetingRecord.is_panelist_link` tells which)."""
        parsed = parse_ref(ref)
        if parsed is None:
            return None
        kind, value = parsed
        if kind == "code":
            return await self._one(_with_host().where(MeetingRow.code == value))
        found = await self._one(_with_host().where(MeetingRow.link_token == value))
        if found is None:
            found = await self._one(_with_host().where(MeetingRow.panelist_token == value))
        return found

    async def list_for_host(self, host_id: UserId, *, limit: int = 200) -> list[MeetingRecord]:
        """The meetings a user hosts, newest first, at most ``limit``."""
        key = parse_uuid(host_id)
        if key is None or limit <= 0:
            return []
        query = (
            _with_host()
            .where(MeetingRow.host_id == key)
            .order_by(MeetingRow.created_at.desc(), MeetingRow.id)
            .limit(limit)
        )
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
            return [_record(row, name) for row, name in rows]

    async def update(self, meeting_id: MeetingId, changes: MeetingChanges) -> MeetingRecord | None:
        """Apply settings changes (all validated first); the updated meeting, or None."""
        key = parse_uuid(meeting_id)
        if key is None:
            return None
        async with self._db.session() as session:
            found = (await session.execute(_with_host().where(MeetingRow.id == key))).first()
            if found is None:
                return None
            row, host_name = found
            _apply(row, changes)
            return _record(row, host_name)

    async def set_status(
        self, meeting_id: MeetingId, status: MeetingStatus
    ) -> MeetingRecord | None:
        """Move a meeting to ``status``; the updated meeting, or None when it does not exist.

        Going live stamps ``started_at`` the first time and clears ``ended_at``; ending stamps
        ``ended_at``. Which transitions are allowed is the caller's policy.
        """
        if status not in get_args(MeetingStatus):
            raise invalid("unknown meeting status")
        key = parse_uuid(meeting_id)
        if key is None:
            return None
        async with self._db.session() as session:
            found = (await session.execute(_with_host().where(MeetingRow.id == key))).first()
            if found is None:
                return None
            row, host_name = found
            row.status = status
            if status == "live":
                row.started_at = row.started_at or utcnow()
                row.ended_at = None
            elif status == "ended":
                row.ended_at = utcnow()
            return _record(row, host_name)

    async def reopen_live(self) -> int:
        """Mark every ``live`` meeting ``open`` again; returns how many. For a node starting
        alone: a meeting still ``live`` was left so by a crash, and nobody is in it."""
        async with self._db.session() as session:
            result = await session.execute(
                update(MeetingRow).where(MeetingRow.status == "live").values(status="open")
            )
            return rowcount(result)

    async def delete(self, meeting_id: MeetingId) -> bool:
        """Delete a meeting with its bans, chat and participation log."""
        key = parse_uuid(meeting_id)
        if key is None:
            return False
        async with self._db.session() as session:
            result = await session.execute(delete(MeetingRow).where(MeetingRow.id == key))
            return rowcount(result) > 0

    async def _one(self, query: Select[MeetingRow, str]) -> MeetingRecord | None:
        async with self._db.session() as session:
            found = (await session.execute(query)).first()
            return _record(found[0], found[1]) if found else None
