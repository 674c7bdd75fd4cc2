"""One signaling WebSocket: a participant's session in one meeting.

Each session has one reader (this task, handling requests one at a time, in order) and one
writer task draining a bounded queue. A client too slow to drain its queue is disconnected rather
than allowed to hold memory or slow the meeting; it can resume with its token.

Events reach the session from the bus. Until the participant is admitted, meeting events are
dropped (the snapshot it gets on admission already reflects them); the room's ``admitted`` marker
opens the gate, and events after it are held back until the snapshot has been sent, so the client
always sees its snapshot first and then every later change, in order.

The session answers the core's requests itself (join, leave, media, admission); every other type
belongs to one of the meeting's features, and the session hands it to the conference, which
routes it to that feature (:mod:`convene.signaling.feature`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from convene.auth.ratelimit import address_group
from convene.bus.base import Subscription, meeting_subject, participant_subject, user_subject
from convene.media.base import StreamSelector
from convene.metrics import SIGNALING_ERRORS, SIGNALING_MESSAGES, WS_CONNECTIONS, WS_DROPPED_SLOW
from convene.protocol import messages as m
from convene.protocol.audience import AudienceTarget
from convene.protocol.codec import Request, encode_error, encode_event, encode_reply, parse_request
from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import MeetingId, ParticipantId, UserId, new_participant_id
from convene.signaling.conference import Conference, ConferenceClosing, Identity
from convene.signaling.join_links import invited_email, note_joined, registration_for, token_key
from convene.signaling.limits import ConnectionLimits, retry_after_details
from convene.signaling.registry import Registry
from convene.storage.db import Database
from convene.storage.meetings import MeetingRecord

__all__ = [
    "AttemptLimiter",
    "Backlog",
    "CodeLimiter",
    "PasscodeLimiter",
    "Session",
    "SessionContext",
    "session_subject",
]

log = logging.getLogger(__name__)

SEND_QUEUE = 2048
SEND_TIMEOUT = 10.0
# Loading what a user missed (see Backlog) must not take long.
BACKLOG_TIMEOUT = 5.0
# Checking whether this connection's sign-in session still exists.
SIGNED_IN_TIMEOUT = 5.0

# Close codes (4000-4999 are the application's).
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
CLOSE_BY_SERVER = 4001  # after a `closed` event: removed, denied, ended, replaced
CLOSE_SLOW = 4002
JOIN_TIMEOUT = 10.0


def session_subject(session_id: str) -> str:
    """One connection's own events (e.g. being replaced by a resume on another connection)."""
    return f"session.{session_id}"


# The last bus payload decoded, and its text. The bus hands every subscriber the same bytes
# object, so a meeting's event is decoded once for its whole audience, not once a socket; the
# reference held keeps the identity check sound.
_last_decoded: tuple[bytes, str] = (b"", "")


def _text(payload: bytes) -> str:
    global _last_decoded
    raw, text = _last_decoded
    if raw is not payload:
        text = payload.decode()
        _last_decoded = (payload, text)
    return text


class AttemptLimiter(Protocol):
    """Counts attempts per key (e.g. joins per address group)."""

    def hit(self, key: str, cost: float = 1.0) -> None:
        """Count one attempt; raise ConveneError(RATE_LIMITED) when over the budget."""


class PasscodeLimiter(Protocol):
    """Decides passcode attempts (convene.auth.ratelimit.PasscodeGuard)."""

    def check(self, *, meeting: str, address: str, who: str | None, correct: bool) -> bool:
        """True to admit, False for a counted wrong passcode; raises RATE_LIMITED."""


class CodeLimiter(Protocol):
    """Slows the guessing of meeting codes (convene.auth.ratelimit.CodeGuard)."""

    def check(self, address: str) -> None:
        """Before a lookup by code; raises RATE_LIMITED."""

    def missed(self, address: str) -> None:
        """After a lookup by code found nothing."""


# The notifications a user is sent when they subscribe: what they missed while no client of
# theirs was connected (the app wires in the in-app reminders of meetings not begun yet).
Backlog = Callable[[UserId], Awaitable[list[m.Notification]]]


@dataclass(frozen=True, slots=True)
class SessionContext:
    """What the WebSocket endpoint learned about the client before the first message."""

    user_id: UserId | None
    user_name: str | None
    guest_key: str | None
    address: str
    # The SHA-256 of the sign-in session's token (never logged): when the account is signed out
    # everywhere, the connection checks whether its own session is gone.
    auth_session: bytes | None = None


Phase = Literal["new", "joining", "waiting", "joined", "closed"]


class Session:
    def __init__(
        self,
        ws: WebSocket,
        ctx: SessionContext,
        *,
        registry: Registry,
        db: Database,
        joins: AttemptLimiter,
        passcodes: PasscodeLimiter,
        codes: CodeLimiter | None = None,
        backlog: Backlog | None = None,
        join_timeout: float = JOIN_TIMEOUT,
    ) -> None:
        self.id = secrets.token_urlsafe(12)
        self._join_timeout = join_timeout
        # Whether the subscriber connection has an offer the client has not answered yet.
        self._offer_pending = False
        self._ws = ws
        self._ctx = ctx
        self._registry = registry
        self._db = db
        self._joins = joins
        self._passcodes = passcodes
        self._codes = codes
        self._backlog = backlog
        self._limits = ConnectionLimits()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=SEND_QUEUE)
        self._close_code = CLOSE_NORMAL
        self._close_reason = ""
        # Bus subscriptions for the meeting joined, and for the signed-in user's subject (their
        # notifications, once asked for, and being signed out).
        self._subs: list[Subscription] = []
        self._user_sub: Subscription | None = None
        self._notifying = False
        self._conf: Conference | None = None
        self.pid: ParticipantId | None = None
        self.phase: Phase = "new"
        self._marker_seen = False
        self._snapshot_sent = False
        self._held: list[bytes] = []
        self._left = False
        # Set while a request is handled: a close it causes waits until its reply is queued.
        self._busy = False
        self._close_after_reply: tuple[int, str] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._handlers: dict[str, Callable[[Any], Awaitable[m.Out]]] = {
            "notifications.subscribe": self._notifications,
            "join": self._join,
            "leave": self._leave,
            "ping": self._ping,
            "publish": self._publish,
            "unpublish": self._unpublish,
            "trickle": self._trickle,
            "subscribe": self._subscribe,
            "subscriber.answer": self._subscriber_answer,
            "subscriber.configure": self._subscriber_configure,
            "media.state": self._media_state,
            "host.admit": self._host_admit,
            "host.deny": self._host_deny,
            "host.promote": self._host_promote,
            "host.demote": self._host_demote,
        }

    # ------------------------------------------------------------------------------------------
    # Connection
    # ------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until either side closes it."""
        WS_CONNECTIONS.inc()
        writer = asyncio.create_task(self._writer(), name=f"ws-writer-{self.id}")
        try:
            await self._reader()
        finally:
            self.phase = "closed"
            for sub in [*self._subs, *([self._user_sub] if self._user_sub else [])]:
                with contextlib.suppress(Exception):
                    await sub.close()
            self._subs.clear()
            if self._conf is not None and self.pid is not None and not self._left:
                self._conf.disconnected(self.pid, self.id)
            for task in list(self._tasks):
                task.cancel()
            if not writer.done():
                with contextlib.suppress(asyncio.QueueFull):
                    self._queue.put_nowait(None)
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(writer, timeout=SEND_TIMEOUT)
            WS_CONNECTIONS.dec()

    async def _reader(self) -> None:
        deadline = asyncio.get_running_loop().time() + self._join_timeout
        while self.phase != "closed":
            try:
                if self.phase == "new" and self._user_sub is None:
                    # A connection that neither joins nor subscribes holds a socket for nothing.
                    async with asyncio.timeout_at(deadline):
                        message = await self._ws.receive()
                else:
                    message = await self._ws.receive()
            except TimeoutError:
                if self.phase == "new" and self._user_sub is None:
                    self._close(CLOSE_POLICY, "join timeout")
                    return
                continue
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                raw = message.get("bytes") or b""
            await self._handle(raw)
            if self._limits.abusive:
                log.warning("closing an abusive signaling connection from participant %s", self.pid)
                self._close(CLOSE_POLICY, "too many refused messages")
                return

    async def _writer(self) -> None:
        try:
            while True:
                item = await self._queue.get()
                if item is None:
                    break
                # A timeout scope, not wait_for: that would make a task of every send.
                async with asyncio.timeout(SEND_TIMEOUT):
                    await self._ws.send_text(item)
        except (TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
            self._close_code = CLOSE_SLOW
        finally:
            if self._ws.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(
                        self._ws.close(self._close_code, self._close_reason), timeout=SEND_TIMEOUT
                    )

    def _send(self, text: str) -> None:
        if self.phase == "closed" and self._close_code != CLOSE_BY_SERVER:
            return
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            WS_DROPPED_SLOW.inc()
            log.warning("participant %s is not reading its events; disconnecting it", self.pid)
            self._abort(CLOSE_SLOW, "too slow")

    def _close(self, code: int, reason: str) -> None:
        """Flush what is queued, then close."""
        self._close_code, self._close_reason = code, reason
        self.phase = "closed"
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    def _abort(self, code: int, reason: str) -> None:
        """Close now, dropping what is queued."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._close(code, reason)
        self._spawn(self._ws_close(code, reason))

    async def _ws_close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ws.close(code, reason), timeout=SEND_TIMEOUT)

    def _spawn(self, coro: Awaitable[None]) -> None:
        async def run() -> None:
            await coro

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------------------------------
    # Requests
    # ------------------------------------------------------------------------------------------

    async def _handle(self, raw: str | bytes) -> None:
        try:
            req = parse_request(raw)
        except ConveneError as err:
            self._limits.refused_in_a_row += 1
            self._error(err.request_id, err)
            return
        SIGNALING_MESSAGES.labels(type=req.type).inc()
        if not self._limits.allow(req.type):
            wait = self._limits.retry_after
            self._error(
                req.id,
                ConveneError(
                    ErrorCode.RATE_LIMITED,
                    f"slow down; try again in {wait} s",
                    retry_after_details(wait),
                ),
            )
            return
        self._busy = True
        try:
            self._check_phase(req)
            handler = self._handlers.get(req.type)
            if handler is not None:
                reply = await handler(req.data)
            else:
                conf, pid = self._joined()
                reply = await conf.dispatch(pid, req.type, req.data)
        except ConveneError as err:
            self._error(req.id, err)
            return
        except Exception:
            log.exception("signaling request %s failed (participant %s)", req.type, self.pid)
            self._error(req.id, ConveneError(ErrorCode.INTERNAL_ERROR, "something went wrong"))
            return
        else:
            if req.id is not None:
                self._send(encode_reply(req.id, reply))
            if req.type == "join" and isinstance(reply, m.JoinReply) and reply.state == "joined":
                self._snapshot_delivered()
        finally:
            self._busy = False
            if self._close_after_reply is not None:
                self._close(*self._close_after_reply)

    def _error(self, req_id: str | None, err: ConveneError) -> None:
        SIGNALING_ERRORS.labels(code=err.code.value).inc()
        self._send(encode_error(req_id, err))

    def _check_phase(self, req: Request) -> None:
        if req.type in ("ping", "leave", "notifications.subscribe"):
            return
        if req.type == "join":
            if self.phase != "new":
                raise ConveneError(ErrorCode.ALREADY_JOINED, "this connection has already joined")
            return
        if self.phase == "waiting":
            raise ConveneError(ErrorCode.NOT_JOINED, "wait for the host to let you in")
        if self.phase != "joined":
            raise ConveneError(ErrorCode.NOT_JOINED, "join a meeting first")

    def _joined(self) -> tuple[Conference, ParticipantId]:
        if self._conf is None or self.pid is None:
            raise ConveneError(ErrorCode.NOT_JOINED, "join a meeting first")
        if not self._current():
            raise ConveneError(ErrorCode.NOT_JOINED, "this connection was replaced by another")
        return self._conf, self.pid

    def _current(self) -> bool:
        """Whether this connection still acts as its participant (a resume elsewhere replaces
        it; the `closed {replaced}` event that says so may still be on its way)."""
        if self._conf is None or self.pid is None:
            return False
        owner = self._conf.session_of(self.pid)
        return owner is None or owner == self.id

    # -- join and leave --------------------------------------------------------------------

    async def _join(self, req: m.Join) -> m.JoinReply:
        self.phase = "joining"
        try:
            return await self._join_meeting(req)
        except BaseException:
            if self.phase == "joining":
                self.phase = "new"
                for sub in self._subs:
                    await sub.close()
                self._subs.clear()
                self._conf, self.pid = None, None
            raise

    async def _join_meeting(self, req: m.Join) -> m.JoinReply:
        addr = self._ctx.address
        self._joins.hit(address_group(addr))
        if self._codes is not None:
            self._codes.check(addr)
        meeting = await self._db.meetings.get_by_ref(req.meeting)
        if meeting is None:
            if self._codes is not None:
                self._codes.missed(addr)
            raise ConveneError(ErrorCode.MEETING_NOT_FOUND, "no meeting with that code or link")
        if req.resume is not None:
            return await self._resume(meeting, req.resume)
        owner = self._ctx.user_id is not None and self._ctx.user_id == meeting.host_id
        if meeting.status == "ended" and not owner:
            raise ConveneError(ErrorCode.MEETING_ENDED, "this meeting has ended")
        if not owner:
            self._check_passcode(meeting, req)
        key = token_key(self._registry.settings)
        invited = await invited_email(self._db, key, meeting.id, req.invitation)
        registration = await registration_for(self._db, key, meeting.id, req.registration)
        # A registrant is known to the event by the name they registered with.
        name = (registration.name if registration else None) or req.display_name
        name = name or self._ctx.user_name
        if not name:
            raise ConveneError(
                ErrorCode.INVALID_REQUEST,
                "a display name is needed to join as a guest",
                {"field": "display_name"},
            )
        who = Identity(
            user_id=self._ctx.user_id,
            guest_key=self._ctx.guest_key,
            display_name=name,
            address=self._ctx.address,
            spoken_language=req.spoken_language,
            invited_email=invited,
            panelist_link=meeting.is_panelist_link(req.meeting),
            registration_id=registration.id if registration else None,
        )
        pid = new_participant_id()
        await self._watch_user()
        await self._listen(meeting.id, pid)
        for _ in range(3):
            conf = await self._registry.open(meeting)
            try:
                _, admission, resume = await conf.enter(who, pid, self.id)
                break
            except ConferenceClosing:
                continue
        else:
            raise ConveneError(ErrorCode.INTERNAL_ERROR, "the meeting is restarting, try again")
        self._conf, self.pid = conf, pid
        if registration is not None and registration.joined_at is None:
            await note_joined(self._db, registration.id)
        if admission == "waiting":
            self.phase = "waiting"
            return m.JoinReply(state="waiting", participant_id=pid, resume_token=resume)
        snapshot = await conf.snapshot(pid)
        self.phase = "joined"
        return m.JoinReply(
            state="joined", participant_id=pid, resume_token=resume, snapshot=snapshot
        )

    def _check_passcode(self, meeting: MeetingRecord, req: m.Join) -> None:
        if meeting.passcode_satisfied(ref=req.meeting, passcode=None):
            return
        if req.passcode is None:
            raise ConveneError(ErrorCode.PASSCODE_REQUIRED, "this meeting needs a passcode")
        # Wrong passcodes are counted per person, meeting and address group; the guard refuses
        # even the right one from those locked out, so a refusal tells a guesser nothing.
        who = f"user:{self._ctx.user_id}" if self._ctx.user_id else None
        if who is None and self._ctx.guest_key:
            who = f"guest:{self._ctx.guest_key}"
        correct = meeting.passcode_satisfied(ref=req.meeting, passcode=req.passcode)
        if not self._passcodes.check(
            meeting=str(meeting.id), address=self._ctx.address, who=who, correct=correct
        ):
            raise ConveneError(ErrorCode.PASSCODE_INVALID, "the passcode is not correct")

    async def _resume(self, meeting: MeetingRecord, token: str) -> m.JoinReply:
        conf = self._registry.get(meeting.id)
        pid = conf.find_resumable(token) if conf is not None else None
        if conf is None or pid is None:
            raise ConveneError(ErrorCode.RESUME_INVALID, "that session can no longer be resumed")
        await self._listen(meeting.id, pid)
        p, token, replaced = await conf.resume(token, self.id)
        self._conf, self.pid = conf, p.id
        if replaced is not None:
            await self._replace(replaced)
        if p.state == "waiting":
            self.phase = "waiting"
            return m.JoinReply(
                state="waiting", participant_id=p.id, resume_token=token, resumed=True
            )
        snapshot = await conf.snapshot(p.id)
        self.phase = "joined"
        return m.JoinReply(
            state="joined", participant_id=p.id, resume_token=token, snapshot=snapshot, resumed=True
        )

    async def _replace(self, session_id: str) -> None:
        """Tell the connection this resume replaces (on any node) to close."""
        event = encode_event(
            "closed", m.Closed(reason="replaced", message="joined from another connection")
        )
        try:
            await asyncio.wait_for(
                self._registry.bus.publish(session_subject(session_id), event.encode()),
                timeout=SEND_TIMEOUT,
            )
        except Exception:
            # It no longer acts as the participant either way (see _current).
            log.warning("could not tell a replaced connection of participant %s", self.pid)

    async def _listen(self, meeting: MeetingId, pid: ParticipantId) -> None:
        bus = self._registry.bus
        self._subs.append(await bus.subscribe(participant_subject(pid), self._on_own_event))
        self._subs.append(await bus.subscribe(meeting_subject(meeting), self._on_meeting_event))
        self._subs.append(await bus.subscribe(session_subject(self.id), self._on_session_event))

    async def _leave(self, _: m.Empty) -> m.EmptyReply:
        # A replaced connection's leave closes only itself: the person is on another one.
        if self._conf is not None and self.pid is not None and not self._left and self._current():
            self._left = True
            await self._conf.leave(self.pid, "left")
        self._close_after_reply = (CLOSE_NORMAL, "left")
        return m.EmptyReply()

    async def _ping(self, _: m.Empty) -> m.EmptyReply:
        return m.EmptyReply()

    async def _notifications(self, _: m.Empty) -> m.EmptyReply:
        """Receive the signed-in user's notifications (reminders, invitations) on this
        connection, in or out of a meeting."""
        if self._ctx.user_id is None:
            raise ConveneError(ErrorCode.AUTH_REQUIRED, "sign in to receive notifications")
        if not self._notifying:
            await self._watch_user()
            self._notifying = True
            # Subscribed first: a notification published meanwhile may come twice (clients show
            # an id once), never not at all.
            self._spawn(self._send_backlog(self._ctx.user_id))
        return m.EmptyReply()

    async def _watch_user(self) -> None:
        """Listen on the signed-in user's subject (once per connection)."""
        if self._ctx.user_id is not None and self._user_sub is None:
            self._user_sub = await self._registry.bus.subscribe(
                user_subject(self._ctx.user_id), self._on_user_event
            )

    async def _send_backlog(self, user_id: UserId) -> None:
        if self._backlog is None:
            return
        try:
            notes = await asyncio.wait_for(self._backlog(user_id), timeout=BACKLOG_TIMEOUT)
        except Exception:
            log.warning("could not load the notifications of user %s", user_id, exc_info=True)
            return
        for note in notes:
            self._send(encode_event("notification", note))

    def _closed(self) -> bool:
        return self.phase == "closed"

    def _on_user_event(self, payload: bytes) -> None:
        if payload.startswith(b'{"type":"closed"'):
            # The account was signed out everywhere (convene.auth.sessions.end_user_sessions).
            self._spawn(self._signed_out(payload))
        elif self._notifying:
            self._send(_text(payload))

    async def _signed_out(self, payload: bytes) -> None:
        """Leave the meeting and close, if this connection's own sign-in session is gone (one
        opened since, with a new session, stays)."""
        if self._ctx.auth_session is None or self.phase == "closed":
            return
        try:
            session = await asyncio.wait_for(
                self._db.auth_sessions.get(self._ctx.auth_session), timeout=SIGNED_IN_TIMEOUT
            )
        except Exception:
            log.warning("could not check the sign-in of participant %s", self.pid, exc_info=True)
            return
        # The connection may have closed while the database answered (mypy keeps the narrowing).
        if session is not None or self._closed():
            return
        log.info("participant %s signed out: leaving the meeting", self.pid)
        # Left for good: its resume token must not bring the signed-out person back.
        if self._conf is not None and self.pid is not None and not self._left and self._current():
            self._left = True
            await self._conf.leave(self.pid, "left")
        self._left = True
        self._deliver(payload, force=True)
        if self._busy:
            self._close_after_reply = (CLOSE_BY_SERVER, "signed out")
        else:
            self._close(CLOSE_BY_SERVER, "signed out")

    # -- events from the bus ----------------------------------------------------------------

    def _on_session_event(self, payload: bytes) -> None:
        if payload.startswith(b'{"type":"closed"'):
            self._on_own_event(payload)

    def _on_own_event(self, payload: bytes) -> None:
        if payload.startswith(b'{"type":"subscriber.offer"'):
            self._offer_pending = True
        if payload.startswith(b'{"type":"closed"'):
            self._left = True
            self._deliver(payload, force=True)
            if self._busy:
                self._close_after_reply = (CLOSE_BY_SERVER, "closed by the meeting")
            else:
                self._close(CLOSE_BY_SERVER, "closed by the meeting")
        elif payload.startswith(b'{"type":"admitted"'):
            # The marker: from here on this participant's events count. Its own snapshot lacks the
            # chat history, so a full one is sent instead when the client has none yet.
            self._marker_seen = True
            if self.phase == "waiting":
                self.phase = "joined"
                self._spawn(self._send_admitted())
            elif self._snapshot_sent:
                self._flush()
        elif self._marker_seen or self.phase == "waiting":
            self._deliver(payload)

    def _on_meeting_event(self, payload: bytes) -> None:
        if payload.startswith(b'{"type":"closed"'):
            self._on_own_event(payload)
        elif self._marker_seen:
            if payload.startswith(b'{"type":"chat.message"') and self._attendee():
                # An event's audience does not get the panel's chat.
                return
            self._deliver(payload)

    def _attendee(self) -> bool:
        if self._conf is None or self.pid is None:
            return False
        p = self._conf.room.participants.get(self.pid)
        return p is not None and p.is_attendee

    def _deliver(self, payload: bytes, *, force: bool = False) -> None:
        if self._snapshot_sent or force:
            self._send(_text(payload))
        else:
            self._held.append(payload)

    def _snapshot_delivered(self) -> None:
        self._snapshot_sent = True
        if self._marker_seen:
            self._flush()

    def _flush(self) -> None:
        held, self._held = self._held, []
        for payload in held:
            self._send(_text(payload))

    async def _send_admitted(self) -> None:
        conf, pid = self._joined()
        try:
            snapshot = await conf.snapshot(pid)
        except ConveneError:
            return
        self._send(encode_event("admitted", m.Admitted(snapshot=snapshot)))
        self._snapshot_delivered()

    # -- media ----------------------------------------------------------------------------

    async def _publish(self, req: m.Publish) -> m.PublishReply:
        conf, pid = self._joined()
        if req.jsep.type != "offer":
            raise ConveneError(ErrorCode.INVALID_REQUEST, "publish needs an SDP offer")
        return await conf.media.publish(pid, req.source, req.jsep, audio=req.audio, video=req.video)

    async def _unpublish(self, req: m.Unpublish) -> m.EmptyReply:
        conf, pid = self._joined()
        await conf.media.unpublish(pid, req.source)
        return m.EmptyReply()

    async def _trickle(self, req: m.Trickle) -> m.EmptyReply:
        conf, pid = self._joined()
        candidate = req.candidate.model_dump(exclude_none=True) if req.candidate else None
        await conf.media.trickle(pid, req.pc, candidate)
        return m.EmptyReply()

    async def _subscribe(self, req: m.Subscribe) -> m.SubscribeReply:
        conf, pid = self._joined()
        add = [StreamSelector(feed=s.feed, mid=s.mid) for s in req.add]
        remove = [StreamSelector(feed=s.feed, mid=s.mid) for s in req.remove]
        reply = await conf.media.subscribe(pid, add, remove)
        if reply.jsep is not None:
            self._offer_pending = True
        return reply

    async def _subscriber_answer(self, req: m.SubscriberAnswer) -> m.EmptyReply:
        conf, pid = self._joined()
        if req.jsep.type != "answer":
            raise ConveneError(ErrorCode.INVALID_REQUEST, "subscriber.answer needs an SDP answer")
        if not self._offer_pending:
            raise ConveneError(
                ErrorCode.INVALID_STATE, "no subscriber offer is waiting for an answer"
            )
        self._offer_pending = False
        await conf.media.subscriber_answer(pid, req.jsep)
        return m.EmptyReply()

    async def _subscriber_configure(self, req: m.SubscriberConfigure) -> m.EmptyReply:
        conf, pid = self._joined()
        for choice in req.streams:
            await conf.media.subscriber_configure(
                pid,
                choice.mid,
                substream=choice.substream,
                temporal=choice.temporal,
                send=choice.send,
            )
        return m.EmptyReply()

    async def _media_state(self, req: m.MediaState) -> m.EmptyReply:
        conf, pid = self._joined()
        await conf.set_media_state(pid, audio=req.audio, video=req.video)
        return m.EmptyReply()

    # -- admission ------------------------------------------------------------------------

    async def _host_admit(self, req: m.Admit) -> m.EmptyReply:
        conf, pid = self._joined()
        await conf.admit(pid, req.participant)
        return m.EmptyReply()

    async def _host_deny(self, req: m.Target) -> m.EmptyReply:
        conf, pid = self._joined()
        await conf.deny(pid, req.participant)
        return m.EmptyReply()

    async def _host_promote(self, req: AudienceTarget) -> m.EmptyReply:
        conf, pid = self._joined()
        await conf.promote(pid, req.participant)
        return m.EmptyReply()

    async def _host_demote(self, req: AudienceTarget) -> m.EmptyReply:
        conf, pid = self._joined()
        await conf.demote(pid, req.participant)
        return m.EmptyReply()
