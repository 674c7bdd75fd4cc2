"""``/users/me/calendars``: the signed-in user's connected calendars.

A connection is read for busy times (an ICS address or a CalDAV account, ``purpose: busy``) or
written with the user's meetings (a CalDAV calendar, ``purpose: publish``). Adding one checks it
by connecting once; the answers never include a password, and an ICS address only by its origin
(the rest of it is as secret as a password). The work is :class:`~convene.calendars.sync.
CalendarService`'s; these handlers only translate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from convene.api.deps import API_PREFIX, CurrentUser
from convene.api.errors import ERROR_RESPONSES
from convene.calendars.dav import CalendarInfo
from convene.calendars.sync import CalendarService, NewConnection
from convene.protocol.errors import ConveneError, ErrorCode
from convene.storage.calendars import (
    ConnectionKind,
    ConnectionPurpose,
    ConnectionRecord,
    ConnectionStatus,
)

__all__ = [
    "CalendarConnectionCreate",
    "CalendarConnectionList",
    "CalendarConnectionOut",
    "CalendarDiscover",
    "CalendarList",
    "router",
]

router = APIRouter(
    prefix=f"{API_PREFIX}/users/me/calendars", tags=["calendars"], responses=ERROR_RESPONSES
)

ConnectionIdParam = Annotated[str, Path(max_length=64)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Username = Annotated[str, StringConstraints(min_length=1, max_length=254)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CalendarConnectionCreate(_Request):
    kind: Literal["ics", "caldav"]
    purpose: Literal["busy", "publish"] = "busy"
    url: Url
    name: Name | None = None
    username: Username | None = None
    password: Password | None = Field(default=None, repr=False)
    # CalDAV: the calendar collection (from ``discover``) when ``url`` is the account's.
    calendar_url: Url | None = None


class CalendarDiscover(_Request):
    url: Url
    username: Username | None = None
    password: Password | None = Field(default=None, repr=False)


class CalendarConnectionOut(BaseModel):
    id: str
    kind: ConnectionKind
    purpose: ConnectionPurpose
    name: str
    url: str
    username: str | None
    has_password: bool
    status: ConnectionStatus
    # status "error": why; status "ok": what the last sync had to skip; else null.
    message: str | None
    last_sync_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, connection: ConnectionRecord) -> CalendarConnectionOut:
        return cls(
            id=connection.id,
            kind=connection.kind,
            purpose=connection.purpose,
            name=connection.name,
            url=connection.url,
            username=connection.username,
            has_password=connection.username is not None,
            status=connection.status,
            message=connection.last_error,
            last_sync_at=connection.last_sync_at,
            created_at=connection.created_at,
        )


class CalendarConnectionList(BaseModel):
    calendars: list[CalendarConnectionOut]


class CalendarOut(BaseModel):
    url: str
    name: str
    events: bool

    @classmethod
    def of(cls, calendar: CalendarInfo) -> CalendarOut:
        return cls(url=calendar.url, name=calendar.name, events=calendar.events)


class CalendarList(BaseModel):
    calendars: list[CalendarOut]


def _service(request: Request) -> CalendarService:
    return cast(CalendarService, request.app.state.calendars)


def _not_found() -> ConveneError:
    return ConveneError(ErrorCode.NOT_FOUND, "No such calendar connection.")


@router.get("")
async def list_calendars(request: Request, user: CurrentUser) -> CalendarConnectionList:
    """The user's connected calendars, oldest first."""
    connections = await _service(request).db.calendars.for_user(user.id)
    return CalendarConnectionList(calendars=[CalendarConnectionOut.of(c) for c in connections])


@router.post("", status_code=status.HTTP_201_CREATED)
async def add_calendar(
    body: CalendarConnectionCreate, request: Request, user: CurrentUser
) -> CalendarConnectionOut:
    """Connect a calendar: it is reached once first (busy: read; publish: the collection is
    found), so a wrong address or password is refused here, with the reason."""
    connection = await _service(request).connect(
        user,
        NewConnection(
            kind=body.kind,
            purpose=body.purpose,
            url=body.url,
            name=body.name,
            username=body.username,
            password=body.password,
            calendar_url=body.calendar_url,
        ),
    )
    return CalendarConnectionOut.of(connection)


@router.post("/discover")
async def discover_calendars(
    body: CalendarDiscover, request: Request, user: CurrentUser
) -> CalendarList:
    """The calendars of a CalDAV account, to choose the one meetings are written to."""
    found = await _service(request).discover(user, body.url, body.username, body.password)
    return CalendarList(calendars=[CalendarOut.of(c) for c in found])


@router.delete("/{connection_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_calendar(
    connection_id: ConnectionIdParam, request: Request, user: CurrentUser
) -> Response:
    """Disconnect a calendar and forget its busy times (events written into a publish
    calendar stay there)."""
    if not await _service(request).db.calendars.delete(user.id, connection_id):
        raise _not_found()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{connection_id}/sync",
    responses={202: {"model": CalendarConnectionOut, "description": "Resync started"}},
)
async def sync_calendar(
    connection_id: ConnectionIdParam, request: Request, response: Response, user: CurrentUser
) -> CalendarConnectionOut:
    """Busy: read the calendar now (200, with the outcome). Publish: write all meetings again
    soon (202, status ``pending``)."""
    service = _service(request)
    connection = await service.db.calendars.get_for_user(user.id, connection_id)
    if connection is None:
        raise _not_found()
    updated = await service.sync_now(connection, user)
    if connection.purpose == "publish":
        response.status_code = status.HTTP_202_ACCEPTED
    return CalendarConnectionOut.of(updated)
