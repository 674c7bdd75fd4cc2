"""Media tests: real Janus, real aiortc peers, inside the test network namespace."""

from tests.support.janus import media_sfu

__all__ = ["media_sfu"]
