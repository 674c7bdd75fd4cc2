"""Who asks to join a conference (:class:`Identity`), and the sign that the conference asked
is closing (:class:`ConferenceClosing`). Both are re-exported by
:mod:`convene.signaling.conference`."""

from __future__ import annotations

from dataclasses import dataclass

from convene.protocol.ids import UserId

__all__ = ["ConferenceClosing", "Identity"]


class ConferenceClosing(Exception):
    """The conference is shutting down (its last participant just left): open a new one."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is asking to join: a signed-in user, or a guest known by their browser's guest key."""

    user_id: UserId | None
    guest_key: str | None
    display_name: str
    # The client's network address (as the endpoint saw it, proxies considered).
    address: str | None = None
    # The language they speak (``Join.spoken_language``), for captions.
    spoken_language: str | None = None
    # The invited address their join link vouched for (``Join.invitation``), lower case.
    invited_email: str | None = None
    # Their event registration (``Join.registration``, checked), when they came with one.
    registration_id: str | None = None
    # They came with the event's panelist link: they join the panel, not the audience.
    panelist_link: bool = False
