"""Reading the composer's RTP sources: what one readable wake-up of a UDP socket takes."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Protocol

__all__ = ["MAX_DATAGRAM", "READS_PER_WAKE", "drain"]

log = logging.getLogger(__name__)

# RTP from Janus fits one Ethernet frame; anything larger is not ours.
MAX_DATAGRAM = 1500
# Bounded work per readable event, so that one flooded port cannot starve the others.
READS_PER_WAKE = 64


class Counts(Protocol):
    received: int
    invalid: int


def drain(sock: socket.socket, take: Callable[[bytes], None], stats: Counts, what: str) -> None:
    """Read up to :data:`READS_PER_WAKE` datagrams from ``sock`` (non-blocking) into ``take``;
    a datagram ``take`` fails on is counted invalid and logged, never raised (a bug in one
    packet's handling must not stop the stream)."""
    for _ in range(READS_PER_WAKE):
        try:
            data = sock.recv(MAX_DATAGRAM + 1)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.debug("%s: receive failed: %s", what, exc)
            return
        stats.received += 1
        try:
            take(data)
        except Exception:
            stats.invalid += 1
            log.exception("%s: a packet could not be handled", what)
