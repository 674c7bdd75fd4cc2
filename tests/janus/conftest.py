"""Tests against a real child Janus, over loopback in the host namespace (no media flows)."""

from tests.support.janus import janus_sfu

__all__ = ["janus_sfu"]
