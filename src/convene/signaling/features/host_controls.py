"""Host controls: what the host and co-hosts do to others and to the meeting.

Muting someone, stopping their video, asking them to unmute, removing them, changing roles,
handing the host role over, changing the meeting's settings, ending it for everyone. Each
request checks the actor's rights (``Room.require_host`` / ``require_acts_on``) before anything
changes. A host mute is kept on the participant (``audio_blocked``, ``video_blocked``,
``unmute_invited``) because the core's media plumbing enforces it on every new stream; this
feature is what sets it, and its snapshot carries it for those present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, cast

from convene.protocol.errors import ConveneError, ErrorCode
from convene.protocol.ids import ParticipantId
from convene.protocol.messages import (
    Closed,
    Empty,
    EmptyReply,
    MeetingUpdate,
    MeetingUpdated,
    Moderated,
    MuteAll,
    SetRole,
    Target,
)
from convene.rooms.room import Feed, Participant
from convene.signaling.feature import Feature, FeatureState, Handler
from convene.storage.meetings import MeetingChanges, validate_title

__all__ = ["HostControls", "HostControlsState", "Moderation"]


class Moderation(FeatureState):
    audio_blocked: bool = False
    video_blocked: bool = False
    unmute_invited: bool = False


class HostControlsState(FeatureState):
    # The standing host mutes (and unmute invitations) of the participants present, by id.
    moderation: dict[ParticipantId, Moderation] = {}


class HostControls(Feature[HostControlsState]):
    name = "host_controls"
    State = HostControlsState

    def handlers(self) -> Mapping[str, Handler]:
        return {
            "host.mute": self._mute,
            "host.mute_all": self._mute_all,
            "host.stop_video": self._stop_video,
            "host.ask_unmute": self._ask_unmute,
            "host.remove": self._remove,
            "host.set_role": self._set_role,
            "host.transfer": self._transfer,
            "host.update": self._update,
            "host.end": self._end,
        }

    async def _mute(self, actor: ParticipantId, req: Target) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            a, t = room.get(actor), room.get_joined(req.participant)
            room.require_acts_on(a, t)
            feeds = self._block(a, t, "audio")
        await self.meeting.enforce(feeds, "audio", muted=True)
        return EmptyReply()

    def _block(
        self, actor: Participant, t: Participant, kind: Literal["audio", "video"]
    ) -> list[Feed]:
        """Under the lock: mark t host-muted and queue the events; returns the feeds to enforce."""
        if kind == "audio":
            t.audio_blocked = True
            # An interpreter's channel and booth feeds are the interpretation feature's.
            feeds = [f for f in t.feeds.values() if f.source in ("main", "screen")]
        else:
            t.video_blocked = True
            feeds = [f for f in t.feeds.values() if f.source == "main"]
        t.unmute_invited = False
        self.meeting.updated(t)
        action: Literal["audio_muted", "video_stopped"] = (
            "audio_muted" if kind == "audio" else "video_stopped"
        )
        self.meeting.to(t.id, "moderated", Moderated(action=action, by=actor.ref()))
        return feeds

    async def _mute_all(self, actor: ParticipantId, req: MuteAll) -> EmptyReply:
        meeting, room = self.meeting, self.meeting.room
        allow_self_unmute = req.allow_self_unmute
        feeds: list[Feed] = []
        async with room.lock:
            a = room.get(actor)
            room.require_host(a)
            # The audience publishes nothing: nothing of theirs to mute.
            for t in room.panelists():
                if t.id != a.id and not t.is_host:
                    feeds += self._block(a, t, "audio")
            if (
                allow_self_unmute is not None
                and allow_self_unmute != room.meeting.allow_self_unmute
            ):
                room.meeting.allow_self_unmute = allow_self_unmute
                meeting.to_meeting("meeting.updated", MeetingUpdated(meeting=room.meeting.info()))
        if allow_self_unmute is not None:
            await meeting.db.meetings.update(meeting.id, {"allow_self_unmute": allow_self_unmute})
        await meeting.enforce(feeds, "audio", muted=True)
        return EmptyReply()

    async def _stop_video(self, actor: ParticipantId, req: Target) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            a, t = room.get(actor), room.get_joined(req.participant)
            room.require_acts_on(a, t)
            feeds = self._block(a, t, "video")
        await self.meeting.enforce(feeds, "video", muted=True)
        return EmptyReply()

    async def _ask_unmute(self, actor: ParticipantId, req: Target) -> EmptyReply:
        room = self.meeting.room
        async with room.lock:
            a, t = room.get(actor), room.get_joined(req.participant)
            room.require_acts_on(a, t)
            t.unmute_invited = True
            self.meeting.to(t.id, "moderated", Moderated(action="unmute_requested", by=a.ref()))
        return EmptyReply()

    async def _remove(self, actor: ParticipantId, req: Target) -> EmptyReply:
        meeting, room = self.meeting, self.meeting.room
        async with room.lock:
            a, t = room.get(actor), room.get(req.participant)
            if t.state == "joined":
                room.require_acts_on(a, t)
            else:
                room.require_host(a)
            was_joined = t.state == "joined"
            new_host = room.remove(t.id)
            room.ban(t)
            meeting.to(
                t.id,
                "closed",
                Closed(reason="removed", message="The host removed you from the meeting."),
            )
            meeting.depart(t, "removed", new_host, was_joined)
            feeds = list(t.feeds.values())
        await meeting.db.bans.add_ban(
            meeting.id,
            user_id=t.user_id,
            guest_key=t.guest_key,
            display_name=t.display_name,
            address=t.address,
        )
        # Cut the media at the server right away, whatever the removed client does.
        await meeting.kick(feeds)
        await meeting.release(t, "removed")
        return EmptyReply()

    async def _set_role(self, actor: ParticipantId, req: SetRole) -> EmptyReply:
        meeting, room = self.meeting, self.meeting.room
        async with room.lock:
            a, t = room.get(actor), room.get_joined(req.participant)
            if a.role != "host":
                raise ConveneError(ErrorCode.FORBIDDEN, "only the host can change roles")
            if t.id == a.id or t.role == "host":
                raise ConveneError(
                    ErrorCode.INVALID_REQUEST, "use host.transfer to hand the host role over"
                )
            if t.is_attendee:
                raise ConveneError(ErrorCode.INVALID_STATE, "promote the attendee first")
            if t.role != req.role:
                t.role = req.role
                meeting.updated(t)
                if req.role == "cohost":
                    meeting.to(t.id, "waiting.updated", meeting.waiting_list())
        return EmptyReply()

    async def _transfer(self, actor: ParticipantId, req: Target) -> EmptyReply:
        meeting, room = self.meeting, self.meeting.room
        async with room.lock:
            a, t = room.get(actor), room.get_joined(req.participant)
            if a.role != "host":
                raise ConveneError(ErrorCode.FORBIDDEN, "only the host can hand the host role over")
            if t.id == a.id:
                raise ConveneError(ErrorCode.INVALID_REQUEST, "you are already the host")
            if t.is_attendee:
                raise ConveneError(ErrorCode.INVALID_STATE, "promote the attendee first")
            t.role, a.role = "host", "participant"
            meeting.updated(t)
            meeting.updated(a)
            meeting.to(t.id, "waiting.updated", meeting.waiting_list())
        return EmptyReply()

    async def _update(self, actor: ParticipantId, update: MeetingUpdate) -> EmptyReply:
        meeting, room = self.meeting, self.meeting.room
        changes = update.model_dump(exclude_none=True)
        if "title" in changes:
            # Validate before anything changes: the live room must never show what the database
            # then refuses.
            changes["title"] = validate_title(changes["title"])
        async with room.lock:
            a = room.get(actor)
            room.require_host(a)
            if "guest_succession" in changes and not room.is_owner(a.user_id):
                raise ConveneError(
                    ErrorCode.FORBIDDEN,
                    "only the meeting's owner can let guests become host",
                    {"field": "guest_succession"},
                )
            if not changes:
                return EmptyReply()
            for key, value in changes.items():
                setattr(room.meeting, key, value)
            meeting.settings_changed(open_gate=changes.get("waiting_room") is False)
        await meeting.db.meetings.update(meeting.id, cast(MeetingChanges, changes))
        return EmptyReply()

    async def _end(self, actor: ParticipantId, _: Empty) -> EmptyReply:
        async with self.meeting.room.lock:
            a = self.meeting.room.get(actor)
            if a.role != "host":
                raise ConveneError(
                    ErrorCode.FORBIDDEN, "only the host can end the meeting for everyone"
                )
        await self.meeting.end()
        return EmptyReply()

    def snapshot(self) -> HostControlsState:
        return HostControlsState(
            moderation={
                p.id: Moderation(
                    audio_blocked=p.audio_blocked,
                    video_blocked=p.video_blocked,
                    unmute_invited=p.unmute_invited,
                )
                for p in self.meeting.room.participants.values()
                if p.audio_blocked or p.video_blocked or p.unmute_invited
            }
        )

    def restore(self, state: HostControlsState) -> None:
        for p in self.meeting.room.participants.values():
            m = state.moderation.get(p.id, Moderation())
            p.audio_blocked, p.video_blocked = m.audio_blocked, m.video_blocked
            p.unmute_invited = m.unmute_invited
