"""The live meeting's features, built in one place (see :mod:`convene.signaling.feature`).

To add one: write its module here (its request handlers, state, events, permission checks and
snapshot), add its protocol messages to :mod:`convene.protocol.messages`, and list its class in
:data:`FEATURES`. Nothing else in ``signaling`` changes.
"""

from __future__ import annotations

from typing import Any

from convene.signaling.feature import Feature, Meeting
from convene.signaling.features.chat import Chat
from convene.signaling.features.host_controls import HostControls
from convene.signaling.features.reactions import ReactionsAndHands
from convene.signaling.features.spotlight import Spotlight

__all__ = ["FEATURES", "build"]

# Each is built once per live meeting, in this order (hooks run in it too).
FEATURES: tuple[type[Feature[Any]], ...] = (Chat, ReactionsAndHands, HostControls, Spotlight)


def build(meeting: Meeting) -> list[Feature[Any]]:
    """A fresh instance of every feature for ``meeting``."""
    return [feature(meeting) for feature in FEATURES]
