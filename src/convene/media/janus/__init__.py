"""Janus VideoRoom as Convene's SFU: the WebSocket client, the SFU pool and the child process.

Convene is the only client of Janus: it holds the API secret, the admin key and every room
secret; browsers exchange SDP and ICE with Convene, never with Janus. See ``docs/media.md``.
"""

from convene.media.janus.client import JanusClient, JanusEvent, JanusHandle, JanusReply
from convene.media.janus.process import JanusConfig, JanusProcess, write_config
from convene.media.janus.sfu import (
    JanusPublisher,
    JanusRoom,
    JanusServer,
    JanusSFU,
    JanusSubscriber,
)

__all__ = [
    "JanusClient",
    "JanusConfig",
    "JanusEvent",
    "JanusHandle",
    "JanusProcess",
    "JanusPublisher",
    "JanusReply",
    "JanusRoom",
    "JanusSFU",
    "JanusServer",
    "JanusSubscriber",
    "write_config",
]
