"""The live meeting's features, built in one place (see :mod:`convene.signaling.feature`).

To add one: write its module here (its request handlers, state, events, permission checks and
snapshot), add its protocol messages to :mod:`convene.protocol.messages`, and list its class in
:data:`FEATURES`. Nothing else in ``signaling`` changes. A feature that needs a service of the
server (captions: the captions service, translation, transcripts) is handed it through
:func:`factory`, which the composition root calls.
"""

from __future__ import annotations

from typing import Any

from convene.livestream.service import LivestreamService
from convene.signaling.feature import Feature, FeatureFactory, Meeting
from convene.signaling.features.audience import Audience
from convene.signaling.features.audio_quality import AudioQuality
from convene.signaling.features.captions import Captions, CaptionServices
from convene.signaling.features.chat import Chat
from convene.signaling.features.comments import Comments
from convene.signaling.features.host_controls import HostControls
from convene.signaling.features.interpretation import Interpretation
from convene.signaling.features.livestream import Livestream
from convene.signaling.features.polls import Polls
from convene.signaling.features.qa import Qa
from convene.signaling.features.reactions import ReactionsAndHands
from convene.signaling.features.spotlight import Spotlight
from convene.voice.base import MachineVoices

__all__ = ["FEATURES", "build", "factory"]

# Each is built once per live meeting, in this order (hooks run in it too).
FEATURES: tuple[type[Feature[Any]], ...] = (
    Chat,
    ReactionsAndHands,
    HostControls,
    Spotlight,
    Captions,
    AudioQuality,
    Interpretation,
    Livestream,
    Comments,
    Qa,
    Polls,
    Audience,
)


def factory(
    captions: CaptionServices | None,
    voices: MachineVoices | None = None,
    livestream: LivestreamService | None = None,
) -> FeatureFactory:
    """What builds a live meeting's features, with the services they need (``None``: no
    captions service, so captions are unavailable; no machine voices, so no machine
    interpretation channels; no livestream service, so no livestream)."""

    def build_with(meeting: Meeting) -> list[Feature[Any]]:
        built: list[Feature[Any]] = []
        for feature in FEATURES:
            if feature is Captions:
                built.append(Captions(meeting, captions))
            elif feature is Interpretation:
                built.append(Interpretation(meeting, voices))
            elif feature is AudioQuality:
                built.append(AudioQuality(meeting, captions.service if captions else None))
            elif feature is Livestream:
                built.append(Livestream(meeting, livestream))
            else:
                built.append(feature(meeting))
        return built

    return build_with


def build(meeting: Meeting) -> list[Feature[Any]]:
    """A fresh instance of every feature for ``meeting``, without the server's services
    (captions report themselves unavailable)."""
    return factory(None)(meeting)
